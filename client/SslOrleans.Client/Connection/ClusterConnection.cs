using System.Globalization;
using System.Text.Json;
using Orleans.Configuration;
using StackExchange.Redis;

namespace SslOrleans.Client;

/// <summary>Where a cluster's membership lives.</summary>
public enum ClusterStore { Redis, AzureTable, Localhost }

/// <summary>A cluster connection that cannot be used; the message names the connection (secrets redacted) and the fix.</summary>
public sealed class ClusterConnectionException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A cluster found in a membership store with at least one active silo.</summary>
public sealed record DiscoveredCluster(string ClusterId, string ServiceId, int ActiveSilos);

/// <summary>
/// How a client reaches an existing cluster (<c>sslo pretrain --cluster CONN</c>):
/// <list type="bullet">
/// <item><c>redis://host:port[?cluster=ID&amp;service=ID]</c> (also <c>redis://:password@host:port/db</c>, <c>rediss://</c> for TLS);</item>
/// <item>an Azure Storage connection string (<c>TableEndpoint=…</c>, <c>AccountName=…;AccountKey=…</c> or
/// <c>UseDevelopmentStorage=true</c>), optionally with extra parts <c>ClusterId=…;ServiceId=…</c>;</item>
/// <item><c>localhost:PORT[,PORT…][?cluster=ID&amp;service=ID]</c>: silos on this machine with localhost clustering,
/// reached at their gateway ports (no membership store to discover them in: the cluster id defaults to the silos' own default, "sslo-dev").</item>
/// </list>
/// Without a cluster id, <see cref="ResolveAsync"/> discovers the one cluster of the store that has active silos.
/// </summary>
public sealed class ClusterConnection
{
    public const string DefaultServiceId = "sslo";
    public const string AzureTableName = "OrleansSiloInstances";
    /// <summary>The cluster id of a localhost connection that names none: a silo's default (Silo:ClusterId).</summary>
    public const string LocalhostClusterId = "sslo-dev";
    private const string Forms = "expected redis://host:port[?cluster=ID&service=ID], an Azure Storage connection string " +
        "(TableEndpoint=…, AccountName=…;AccountKey=…, or UseDevelopmentStorage=true; optional ClusterId=…;ServiceId=…) " +
        "or localhost:GATEWAYPORT[,PORT…][?cluster=ID]; a cluster with TLS also needs tls-cert=FILE&tls-key=FILE&tls-ca=FILE (TlsCert=…;TlsKey=…;TlsCa=… in an Azure string)";

    /// <summary>How long discovery waits for the store before it reports it unreachable.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>An "Active" entry whose heartbeat is older than this belongs to a silo that died without leaving
    /// (killed): Orleans' own rule, IAmAliveTablePublishTimeout × NumMissedTableIAmAliveLimit, plus a minute.</summary>
    public static readonly TimeSpan StaleAfter = StaleLimit();

    private ClusterConnection(ClusterStore store, string display, string? clusterId, string? serviceId, RedisAddress? redis, AzureTableAddress? azure,
        IReadOnlyList<int>? gatewayPorts = null)
    {
        GatewayPorts = gatewayPorts ?? [];
        Store = store;
        Display = display;
        ClusterId = clusterId;
        ServiceId = serviceId;
        Redis = redis;
        Azure = azure;
    }

    public ClusterStore Store { get; }
    /// <summary>The store, safe to print: no password, no account key.</summary>
    public string Display { get; }
    public string? ClusterId { get; }
    public string? ServiceId { get; }
    public RedisAddress? Redis { get; }
    public AzureTableAddress? Azure { get; }
    /// <summary>The gateway ports of a localhost cluster.</summary>
    public IReadOnlyList<int> GatewayPorts { get; }
    /// <summary>The client's mutual-TLS files when the cluster requires TLS (query keys tls-cert, tls-key, tls-ca); null: plain TCP.</summary>
    public ClusterTlsFiles? Tls { get; private init; }

    /// <summary>The query keys of a redis:// or localhost: connection.</summary>
    private static readonly string[] QueryKeys = ["cluster", "service", ClusterTlsFiles.CertificateKey, ClusterTlsFiles.KeyKey, ClusterTlsFiles.AuthorityKey];

    public override string ToString() =>
        ClusterId is null ? Display : $"{Display} (cluster {ClusterId}, service {ServiceId ?? DefaultServiceId})";

    public static ClusterConnection Parse(string text)
    {
        text = text?.Trim() ?? "";
        if (text.Length == 0) throw new ClusterConnectionException($"--cluster: empty; {Forms}");
        if (RedisAddress.LooksLikeUrl(text))
        {
            RedisAddress redis;
            try { redis = RedisAddress.Parse(text, allowNativeForm: false); }
            catch (FormatException e) { throw new ClusterConnectionException($"--cluster '{Redact(text)}': {e.Message}; {Forms}"); }
            foreach (var key in redis.Query.Keys)
            {
                if (!QueryKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
                    throw new ClusterConnectionException($"--cluster '{Redact(text)}': unknown query key '{key}'; known: {string.Join(", ", QueryKeys)}");
            }
            return new ClusterConnection(ClusterStore.Redis, redis.Display,
                redis.Query.GetValueOrDefault("cluster"), redis.Query.GetValueOrDefault("service"), redis, null)
            {
                Tls = ClusterTlsFiles.From(redis.Query, ClusterTlsFiles.CertificateKey, ClusterTlsFiles.KeyKey, ClusterTlsFiles.AuthorityKey, "--cluster"),
            };
        }
        if (AzureTableAddress.LooksLikeAzure(text))
        {
            AzureTableAddress azure;
            try { azure = AzureTableAddress.Parse(text); }
            catch (FormatException e) { throw new ClusterConnectionException($"--cluster (an Azure Storage connection string): {e.Message}"); }
            return new ClusterConnection(ClusterStore.AzureTable, azure.Display,
                azure.Extras.GetValueOrDefault("ClusterId"), azure.Extras.GetValueOrDefault("ServiceId"), null, azure)
            {
                Tls = ClusterTlsFiles.From(azure.Extras, ClusterTlsFiles.AzureCertificateKey, ClusterTlsFiles.AzureKeyKey, ClusterTlsFiles.AzureAuthorityKey, "--cluster"),
            };
        }
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)) return ParseLocalhost(text);
        throw new ClusterConnectionException($"--cluster '{Redact(text)}': {Forms}");
    }

    private static ClusterConnection ParseLocalhost(string text)
    {
        var rest = text["localhost:".Length..];
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int q = rest.IndexOf('?');
        if (q >= 0)
        {
            foreach (var pair in rest[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = pair.Split('=', 2);
                if (kv.Length != 2 || kv[1].Length == 0) throw new ClusterConnectionException($"--cluster '{text}': query part '{pair}' must be key=value");
                if (!QueryKeys.Contains(kv[0], StringComparer.OrdinalIgnoreCase))
                    throw new ClusterConnectionException($"--cluster '{text}': unknown query key '{kv[0]}'; known: {string.Join(", ", QueryKeys)}");
                query[kv[0]] = Uri.UnescapeDataString(kv[1]);
            }
            rest = rest[..q];
        }
        var ports = new List<int>();
        foreach (var part in rest.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                throw new ClusterConnectionException($"--cluster '{text}': '{part}' is not a gateway port (1-65535); {Forms}");
            ports.Add(port);
        }
        return new ClusterConnection(ClusterStore.Localhost, $"localhost:{string.Join(',', ports)}",
            query.GetValueOrDefault("cluster") ?? LocalhostClusterId, query.GetValueOrDefault("service") ?? DefaultServiceId, null, null, ports)
        {
            Tls = ClusterTlsFiles.From(query, ClusterTlsFiles.CertificateKey, ClusterTlsFiles.KeyKey, ClusterTlsFiles.AuthorityKey, "--cluster"),
        };
    }

    /// <summary>This connection with the cluster fixed (a discovered one).</summary>
    public ClusterConnection For(DiscoveredCluster cluster) =>
        new(Store, Display, cluster.ClusterId, cluster.ServiceId, Redis, Azure, GatewayPorts) { Tls = Tls };

    /// <summary>
    /// The cluster to join: the one named, or the only cluster of the store with active silos. No such cluster, several,
    /// or an unreachable store are <see cref="ClusterConnectionException"/>s that say what to do.
    /// </summary>
    public async Task<ClusterConnection> ResolveAsync(TimeSpan? timeout = null, CancellationToken cancellation = default)
    {
        // Localhost clusters keep no membership store a client can read: the connection names them fully.
        if (Store == ClusterStore.Localhost) return this;
        var found = await ListActiveAsync(timeout, cancellation);
        var matching = found
            .Where(c => ClusterId is null || c.ClusterId == ClusterId)
            .Where(c => ServiceId is null || c.ServiceId == ServiceId)
            .ToList();
        if (matching.Count == 1) return For(matching[0]);
        var pick = Store == ClusterStore.Redis ? $"add ?cluster=ID to {Display}" : "add ClusterId=ID; to the connection string";
        if (matching.Count == 0)
        {
            var what = ClusterId is null ? "no cluster with active silos" : $"no active silo of cluster {ClusterId}{(ServiceId is null ? "" : $" (service {ServiceId})")}";
            var others = found.Count == 0 ? "" : $" (clusters with active silos there: {Describe(found)})";
            throw new ClusterConnectionException($"{what} in {Display}{others}: start one with deploy/local/cluster.sh up 2, " +
                $"or silos with Silo:Clustering={Store} and Silo:ConnectionString naming this store");
        }
        throw new ClusterConnectionException($"{matching.Count} clusters with active silos in {Display}: {Describe(matching)}; pick one: {pick}");
    }

    /// <summary>Every cluster of the store with at least one active silo (a heartbeat within <see cref="StaleAfter"/>).</summary>
    public async Task<IReadOnlyList<DiscoveredCluster>> ListActiveAsync(TimeSpan? timeout = null, CancellationToken cancellation = default)
    {
        var t = timeout ?? DefaultTimeout;
        try
        {
            var list = Store switch
            {
                ClusterStore.Redis => await ListRedisAsync(t, cancellation),
                ClusterStore.AzureTable => await ListAzureAsync(t, cancellation),
                _ => [new DiscoveredCluster(ClusterId!, ServiceId!, GatewayPorts.Count)],
            };
            return list.OrderBy(c => c.ServiceId, StringComparer.Ordinal).ThenBy(c => c.ClusterId, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is not ClusterConnectionException && !(e is OperationCanceledException && cancellation.IsCancellationRequested))
        {
            var store = Store == ClusterStore.Redis ? "Redis" : "the Azure table service";
            throw new ClusterConnectionException($"cannot reach {store} at {Display} within {t.TotalSeconds:0.#} s ({FirstSentence(e.Message)}): " +
                "is it running? deploy/local/cluster.sh up 2 starts Redis and a cluster", e);
        }
    }

    private async Task<List<DiscoveredCluster>> ListRedisAsync(TimeSpan timeout, CancellationToken cancellation)
    {
        var options = Redis!.ForProbe(timeout);
        await using var muxer = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(timeout + TimeSpan.FromSeconds(1), cancellation);
        var db = muxer.GetDatabase();
        var result = new List<DiscoveredCluster>();
        var now = DateTimeOffset.UtcNow;
        foreach (var server in muxer.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(options.DefaultDatabase ?? -1, "*/members/*", pageSize: 250).WithCancellation(cancellation))
            {
                var name = key.ToString();
                int at = name.IndexOf("/members/", StringComparison.Ordinal);
                if (at <= 0 || at + 9 >= name.Length) continue;
                HashEntry[] fields;
                try { fields = await db.HashGetAllAsync(key).WaitAsync(timeout, cancellation); }
                catch (RedisServerException) { continue; } // not a hash: not Orleans' membership
                if (!fields.Any(f => f.Name == "Version")) continue;
                int active = fields.Count(f => f.Name != "Version" && IsActive(f.Value.ToString(), now));
                if (active > 0) result.Add(new DiscoveredCluster(name[(at + 9)..], name[..at], active));
            }
        }
        return result;
    }

    private async Task<List<DiscoveredCluster>> ListAzureAsync(TimeSpan timeout, CancellationToken cancellation)
    {
        var table = Azure!.Client(timeout).GetTableClient(AzureTableName);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var now = DateTimeOffset.UtcNow;
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            limit.CancelAfter(timeout * 3);
            await foreach (var row in table.QueryAsync<Azure.Data.Tables.TableEntity>("Status eq 'Active'", cancellationToken: limit.Token))
            {
                var cluster = row.GetString("DeploymentId") ?? row.PartitionKey;
                if (string.IsNullOrEmpty(cluster) || !IsFresh(row.GetString("IAmAliveTime"), now)) continue;
                counts[cluster] = counts.GetValueOrDefault(cluster) + 1;
            }
        }
        catch (global::Azure.RequestFailedException e) when (e.Status == 404)
        {
            return []; // no silo has ever written there: the table does not exist
        }
        return counts.Select(kv => new DiscoveredCluster(kv.Key, ServiceId ?? DefaultServiceId, kv.Value)).ToList();
    }

    /// <summary>A Redis membership row (Orleans' JSON of a MembershipEntry): "Status" 3 or "Active", with a fresh heartbeat.</summary>
    internal static bool IsActive(string json, DateTimeOffset now)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return false;
            JsonElement status = default, alive = default;
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.NameEquals("Status") || p.Name.Equals("status", StringComparison.OrdinalIgnoreCase)) status = p.Value;
                else if (p.Name.Equals("IAmAliveTime", StringComparison.OrdinalIgnoreCase)) alive = p.Value;
            }
            bool active = status.ValueKind switch
            {
                JsonValueKind.Number => status.TryGetInt32(out int s) && s == (int)SiloStatus.Active,
                JsonValueKind.String => status.GetString() is { } s && (s.Equals("Active", StringComparison.OrdinalIgnoreCase) || s == "3"),
                _ => false,
            };
            return active && IsFresh(alive.ValueKind == JsonValueKind.String ? alive.GetString() : null, now);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>True unless the heartbeat is readable and older than <see cref="StaleAfter"/>.</summary>
    internal static bool IsFresh(string? heartbeat, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(heartbeat)) return true;
        var text = heartbeat.Trim();
        // Azure's table rows carry Orleans' log format "2026-11-28 04:37:43.123 GMT".
        if (text.EndsWith(" GMT", StringComparison.Ordinal)) text = text[..^4] + "Z";
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            return true;
        return now - t <= StaleAfter;
    }

    private static string Describe(IEnumerable<DiscoveredCluster> clusters) =>
        string.Join(", ", clusters.Select(c => $"{c.ClusterId} (service {c.ServiceId}, {c.ActiveSilos} active silo{(c.ActiveSilos == 1 ? "" : "s")})"));

    private static string FirstSentence(string message)
    {
        var line = message.Split('\n')[0].Trim();
        int end = line.IndexOf(". ", StringComparison.Ordinal);
        return (end > 0 ? line[..end] : line).TrimEnd('.');
    }

    /// <summary>What an error may show of text the user typed: no password after "://user:", no account key.</summary>
    private static string Redact(string text)
    {
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        int at = text.IndexOf('@');
        if (scheme >= 0 && at > scheme) text = text[..(scheme + 3)] + "***" + text[at..];
        return text;
    }

    private static TimeSpan StaleLimit()
    {
        var m = new ClusterMembershipOptions();
        return m.IAmAliveTablePublishTimeout * Math.Max(1, m.NumMissedTableIAmAliveLimit) + TimeSpan.FromMinutes(1);
    }
}
