using System.Net;
using StackExchange.Redis;

namespace SslOrleans.Client;

/// <summary>A Redis server named as redis://[user:password@]host[:port][/db][?key=value&amp;…] (rediss:// for TLS)
/// or in StackExchange.Redis' own form "host:port[,option=value…]".</summary>
public sealed record RedisAddress(ConfigurationOptions Options, string Display, IReadOnlyDictionary<string, string> Query)
{
    public const int DefaultPort = 6379;

    public static bool LooksLikeUrl(string text) =>
        text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses <paramref name="text"/>; problems become <see cref="FormatException"/>s that say what is wrong.</summary>
    public static RedisAddress Parse(string text, bool allowNativeForm)
    {
        text = text.Trim();
        if (LooksLikeUrl(text)) return ParseUrl(text);
        if (!allowNativeForm) throw new FormatException("not a redis:// address");
        ConfigurationOptions options;
        try { options = ConfigurationOptions.Parse(text); }
        catch (ArgumentException e) { throw new FormatException(e.Message); }
        if (options.EndPoints.Count == 0) throw new FormatException("names no host:port");
        var first = options.EndPoints[0];
        return new RedisAddress(options, "redis://" + Describe(first), new Dictionary<string, string>());
    }

    private static RedisAddress ParseUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new FormatException("not a valid redis:// URL (host, port)");
        var options = new ConfigurationOptions { Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        int port = uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port;
        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        if (IPAddress.TryParse(host, out var ip)) options.EndPoints.Add(new IPEndPoint(ip, port));
        else options.EndPoints.Add(host, port);
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            if (parts.Length == 2)
            {
                if (parts[0].Length > 0) options.User = Uri.UnescapeDataString(parts[0]);
                options.Password = Uri.UnescapeDataString(parts[1]);
            }
            else options.Password = Uri.UnescapeDataString(parts[0]);
        }
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
            options.DefaultDatabase = int.TryParse(path, out int db) && db >= 0 ? db : throw new FormatException($"the path '/{path}' must be a database number");
        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            if (kv.Length != 2 || kv[1].Length == 0) throw new FormatException($"query part '{pair}' must be key=value");
            query[Uri.UnescapeDataString(kv[0])] = Uri.UnescapeDataString(kv[1]);
        }
        var display = $"{uri.Scheme.ToLowerInvariant()}://{(host.Contains(':') ? $"[{host}]" : host)}:{port}{(path.Length > 0 ? "/" + path : "")}";
        return new RedisAddress(options, display, query);
    }

    private static string Describe(EndPoint e) => e switch
    {
        DnsEndPoint d => $"{d.Host}:{d.Port}",
        IPEndPoint i => i.ToString(),
        _ => e.ToString() ?? "",
    };

    /// <summary>A copy of the options for a short-lived connection that gives up after <paramref name="timeout"/>.</summary>
    public ConfigurationOptions ForProbe(TimeSpan timeout)
    {
        var o = Options.Clone();
        int ms = (int)Math.Max(500, timeout.TotalMilliseconds);
        o.AbortOnConnectFail = true;
        o.ConnectRetry = 1;
        o.ConnectTimeout = ms;
        o.SyncTimeout = ms;
        o.AsyncTimeout = ms;
        return o;
    }
}

/// <summary>
/// An Azure Storage connection string that names a table service: with TableEndpoint=…, AccountName=…;AccountKey=…, or
/// UseDevelopmentStorage=true (Azurite on its default ports). Extra parts <c>ClusterId=…;ServiceId=…</c> (and a client's
/// TLS files <c>TlsCert=…;TlsKey=…;TlsCa=…</c>) are taken out
/// before the string reaches the Azure client.
/// </summary>
public sealed record AzureTableAddress(string ConnectionString, string Display, IReadOnlyDictionary<string, string> Extras)
{
    private static readonly string[] ExtraKeys = ["ClusterId", "ServiceId", ClusterTlsFiles.AzureCertificateKey, ClusterTlsFiles.AzureKeyKey, ClusterTlsFiles.AzureAuthorityKey];
    private static readonly string[] SecretKeys = ["AccountKey", "SharedAccessSignature"];

    public static bool LooksLikeAzure(string text) =>
        text.Contains("TableEndpoint=", StringComparison.OrdinalIgnoreCase)
        || text.Contains("AccountName=", StringComparison.OrdinalIgnoreCase)
        || text.Contains("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase);

    public static AzureTableAddress Parse(string text)
    {
        if (!LooksLikeAzure(text)) throw new FormatException("not an Azure Storage connection string (it names no TableEndpoint=, AccountName= or UseDevelopmentStorage=true)");
        var kept = new List<string>();
        var shown = new List<string>();
        var extras = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = raw.IndexOf('=');
            if (eq <= 0) throw new FormatException($"part '{raw}' must be key=value");
            var key = raw[..eq];
            var value = raw[(eq + 1)..];
            if (ExtraKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                if (value.Length == 0) throw new FormatException($"{key}= needs a value");
                extras[key] = value;
                continue;
            }
            kept.Add(raw);
            shown.Add(SecretKeys.Contains(key, StringComparer.OrdinalIgnoreCase) ? $"{key}=***" : raw);
        }
        var connection = string.Join(';', kept);
        try { _ = new Azure.Data.Tables.TableServiceClient(connection); }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new FormatException($"the Azure client refuses it: {e.Message}");
        }
        return new AzureTableAddress(connection, string.Join(';', shown), extras);
    }

    public Azure.Data.Tables.TableServiceClient Client(TimeSpan? probeTimeout = null)
    {
        if (probeTimeout is not { } t) return new Azure.Data.Tables.TableServiceClient(ConnectionString);
        var options = new Azure.Data.Tables.TableClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = t;
        return new Azure.Data.Tables.TableServiceClient(ConnectionString, options);
    }
}
