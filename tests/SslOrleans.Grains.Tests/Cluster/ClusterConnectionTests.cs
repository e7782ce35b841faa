using SslOrleans.Client;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SslOrleans.Grains.Tests.Cli;
using SslOrleans.Hosting;
using StackExchange.Redis;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>--cluster CONN: the forms it takes, discovery of the cluster id in Redis, and the errors that say what to do.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class ClusterConnectionTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    [Fact]
    public async Task Localhost_names_the_gateways_and_the_cluster_needs_no_discovery()
    {
        var plain = ClusterConnection.Parse("localhost:30000,30001");
        Assert.Equal((ClusterStore.Localhost, "localhost:30000,30001"), (plain.Store, plain.Display));
        Assert.Equal([30000, 30001], plain.GatewayPorts);
        // The silos' own defaults (Silo:ClusterId, Silo:ServiceId).
        Assert.Equal(("sslo-dev", "sslo"), (plain.ClusterId, plain.ServiceId));
        Assert.Same(plain, await plain.ResolveAsync());

        var named = ClusterConnection.Parse("localhost:40000?cluster=c7&service=s7");
        Assert.Equal(("c7", "s7", 40000), (named.ClusterId, named.ServiceId, named.GatewayPorts.Single()));
    }

    [Theory]
    [InlineData("localhost:", "'' is not a gateway port")]
    [InlineData("localhost:0", "'0' is not a gateway port")]
    [InlineData("localhost:70000", "'70000' is not a gateway port")]
    [InlineData("localhost:30000,x", "'x' is not a gateway port")]
    [InlineData("localhost:30000?zone=a", "unknown query key 'zone'")]
    [InlineData("localhost:30000?cluster", "query part 'cluster' must be key=value")]
    public void A_bad_localhost_connection_names_the_part(string text, string message)
    {
        var e = Assert.Throws<ClusterConnectionException>(() => ClusterConnection.Parse(text));
        Assert.Contains(message, e.Message);
        Assert.StartsWith($"--cluster '{text}'", e.Message);
    }

    [Fact]
    public void The_documented_forms_parse()
    {
        var plain = ClusterConnection.Parse("redis://127.0.0.1:6379");
        Assert.Equal(ClusterStore.Redis, plain.Store);
        Assert.Equal("redis://127.0.0.1:6379", plain.Display);
        Assert.Null(plain.ClusterId);
        Assert.Null(plain.ServiceId);

        var named = ClusterConnection.Parse("redis://:secret@localhost:7000/2?cluster=c1&service=s1");
        Assert.Equal(("c1", "s1"), (named.ClusterId, named.ServiceId));
        Assert.Equal("redis://localhost:7000/2", named.Display);
        Assert.Equal("secret", named.Redis!.Options.Password);
        Assert.Equal(2, named.Redis.Options.DefaultDatabase);

        var azure = ClusterConnection.Parse($"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevKey};" +
            "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;ClusterId=c2;ServiceId=s2");
        Assert.Equal(ClusterStore.AzureTable, azure.Store);
        Assert.Equal(("c2", "s2"), (azure.ClusterId, azure.ServiceId));
        Assert.DoesNotContain("ClusterId", azure.Azure!.ConnectionString);
        Assert.DoesNotContain("ServiceId", azure.Azure.ConnectionString);
        Assert.Contains("AccountKey=***", azure.Display);
        Assert.DoesNotContain(DevKey, azure.Display);

        Assert.Equal(ClusterStore.AzureTable, ClusterConnection.Parse("UseDevelopmentStorage=true").Store);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("foo", "expected redis://host:port")]
    [InlineData("127.0.0.1:6379", "expected redis://host:port")]
    [InlineData("redis://", "not a valid redis:// URL")]
    [InlineData("redis://127.0.0.1:port", "not a valid redis:// URL")]
    [InlineData("redis://127.0.0.1:6379?clusterid=x", "unknown query key 'clusterid'")]
    [InlineData("redis://127.0.0.1:6379/db", "database number")]
    [InlineData("AccountName=x;AccountKey=not base64!", "the Azure client refuses it")]
    [InlineData("UseDevelopmentStorage=true;ClusterId=", "ClusterId= needs a value")]
    public void Malformed_connections_are_named(string text, string problem)
    {
        var e = Assert.Throws<ClusterConnectionException>(() => ClusterConnection.Parse(text));
        Assert.Contains("--cluster", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public async Task An_unreachable_Redis_is_reported_within_seconds()
    {
        // Nothing listens: refused at once.
        int closed = ClusterTestSupport.FreePort();
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ClusterConnectionException>(() =>
            ClusterConnection.Parse($"redis://127.0.0.1:{closed}").ResolveAsync(TimeSpan.FromSeconds(2)));
        Assert.Contains($"cannot reach Redis at redis://127.0.0.1:{closed}", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(6), $"took {watch.Elapsed}");

        // Something accepts the connection and never answers: the connect timeout ends it.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        watch.Restart();
        e = await Assert.ThrowsAsync<ClusterConnectionException>(() =>
            ClusterConnection.Parse($"redis://127.0.0.1:{port}").ResolveAsync(TimeSpan.FromSeconds(2)));
        Assert.Contains($"redis://127.0.0.1:{port}", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task The_cli_names_a_bad_or_unreachable_cluster_and_exits_2()
    {
        var (code, stdout, err) = await SsloInProcess.RunAsync("pretrain", "--steps", "1", "--cluster", "nowhere");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("--cluster 'nowhere'", err);

        (code, _, err) = await SsloInProcess.RunAsync("pretrain", "--steps", "1", "--cluster");
        Assert.Equal(2, code);
        Assert.Contains("--cluster needs a value", err);

        int closed = ClusterTestSupport.FreePort();
        var watch = Stopwatch.StartNew();
        (code, stdout, err) = await SsloInProcess.RunAsync("pretrain", "--steps", "1", "--out", Path.Combine(Path.GetTempPath(), "sslo-noclu-" + Guid.NewGuid().ToString("N")),
            "--cluster", $"redis://127.0.0.1:{closed}");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains($"redis://127.0.0.1:{closed}", err);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task No_active_cluster_is_an_error_that_says_how_to_start_one()
    {
        var url = redis.Url(1);
        var e = await Assert.ThrowsAsync<ClusterConnectionException>(() => ClusterConnection.Parse(url).ResolveAsync());
        Assert.Contains($"no cluster with active silos in {url}", e.Message);
        Assert.Contains("deploy/local/cluster.sh up 2", e.Message);

        // A cluster whose silos left (Dead) and one whose only silo was killed long ago (a stale heartbeat) are not active.
        await WriteClusterAsync(1, "sslo", "left", status: 6, DateTimeOffset.UtcNow);
        await WriteClusterAsync(1, "sslo", "killed", status: 3, DateTimeOffset.UtcNow - ClusterConnection.StaleAfter - TimeSpan.FromMinutes(1));
        e = await Assert.ThrowsAsync<ClusterConnectionException>(() => ClusterConnection.Parse(url).ResolveAsync());
        Assert.Contains("no cluster with active silos", e.Message);
    }

    [Fact]
    public async Task One_active_cluster_is_found_with_its_service_id()
    {
        await WriteClusterAsync(2, "team-a", "sslo-123", status: 3, DateTimeOffset.UtcNow, silos: 2);
        await WriteClusterAsync(2, "team-a", "sslo-old", status: 6, DateTimeOffset.UtcNow);
        var resolved = await ClusterConnection.Parse(redis.Url(2)).ResolveAsync();
        Assert.Equal(("sslo-123", "team-a"), (resolved.ClusterId, resolved.ServiceId));
        var found = await ClusterConnection.Parse(redis.Url(2)).ListActiveAsync();
        Assert.Equal(2, Assert.Single(found).ActiveSilos);
    }

    [Fact]
    public async Task Several_active_clusters_are_listed_with_how_to_pick_one()
    {
        await WriteClusterAsync(3, "sslo", "sslo-a", status: 3, DateTimeOffset.UtcNow);
        await WriteClusterAsync(3, "sslo", "sslo-b", status: 3, DateTimeOffset.UtcNow);
        var url = redis.Url(3);
        var e = await Assert.ThrowsAsync<ClusterConnectionException>(() => ClusterConnection.Parse(url).ResolveAsync());
        Assert.Contains("2 clusters with active silos", e.Message);
        Assert.Contains("sslo-a", e.Message);
        Assert.Contains("sslo-b", e.Message);
        Assert.Contains("?cluster=ID", e.Message);

        var picked = await ClusterConnection.Parse(url + "?cluster=sslo-b").ResolveAsync();
        Assert.Equal(("sslo-b", "sslo"), (picked.ClusterId, picked.ServiceId));
        e = await Assert.ThrowsAsync<ClusterConnectionException>(() => ClusterConnection.Parse(url + "?cluster=sslo-c").ResolveAsync());
        Assert.Contains("no active silo of cluster sslo-c", e.Message);
        Assert.Contains("sslo-a", e.Message);
    }

    /// <summary>A membership hash as Orleans' Redis clustering writes it: "Version" plus one JSON row per silo.</summary>
    private async Task WriteClusterAsync(int database, string serviceId, string clusterId, int status, DateTimeOffset heartbeat, int silos = 1)
    {
        await using var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port}");
        var db = muxer.GetDatabase(database);
        var key = $"{serviceId}/members/{clusterId}";
        await db.HashSetAsync(key, "Version", $"{{\"Version\":{silos},\"VersionEtag\":\"{silos}\"}}");
        for (int i = 0; i < silos; i++)
        {
            var silo = $"127.0.0.1:{20000 + i}@154846136";
            var time = heartbeat.UtcDateTime.ToString("o");
            await db.HashSetAsync(key, $"S{silo.Replace('@', ':')}",
                $"{{\"SiloAddress\":{{\"SiloAddress\":\"{silo}\"}},\"Status\":{status},\"SuspectTimes\":[],\"ProxyPort\":{30000 + i}," +
                $"\"HostName\":\"vm\",\"SiloName\":\"Silo_{i}\",\"RoleName\":\"SslOrleans.Silo\",\"UpdateZone\":0,\"FaultZone\":0," +
                $"\"StartTime\":\"{time}\",\"IAmAliveTime\":\"{time}\"}}");
        }
    }
}
