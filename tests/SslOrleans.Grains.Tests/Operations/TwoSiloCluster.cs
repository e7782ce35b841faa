using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Hosting;

namespace SslOrleans.Grains.Tests.Operations;

/// <summary>
/// Two silos clustered in a real Redis server (started here), each with one device slot, hosted in this process as
/// a deployment hosts them (<see cref="SslSiloExtensions.UseSslSilo"/>). Clients reach it as an operator does: through
/// <see cref="RedisConnection"/> or the silos' gateways (<see cref="LocalhostConnection"/>).
/// </summary>
public sealed class TwoSiloCluster : IAsyncLifetime
{
    public const string Category = "Operations";

    private readonly RedisServerFixture redis = new();
    private readonly List<IHost> silos = [];

    public string ClusterId { get; } = "sslo-ops-" + Guid.NewGuid().ToString("N")[..8];
    public int[] GatewayPorts { get; private set; } = [];
    public string RedisConnection => $"redis://127.0.0.1:{redis.Port}?cluster={ClusterId}";
    public string LocalhostConnection => $"localhost:{string.Join(',', GatewayPorts)}?cluster={ClusterId}";
    public IGrainFactory Grains => (IGrainFactory)silos[0].Services.GetService(typeof(IGrainFactory))!;

    public async Task InitializeAsync()
    {
        await redis.InitializeAsync();
        GatewayPorts = [ClusterTestSupport.FreePort(), ClusterTestSupport.FreePort()];
        foreach (var gateway in GatewayPorts)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Silo:Clustering"] = "Redis",
                ["Silo:ConnectionString"] = $"127.0.0.1:{redis.Port}",
                ["Silo:ClusterId"] = ClusterId,
                ["Silo:SiloPort"] = ClusterTestSupport.FreePort().ToString(),
                ["Silo:GatewayPort"] = gateway.ToString(),
                ["SslTraining:Devices"] = "cpu",
            });
            builder.Logging.ClearProviders();
            builder.UseOrleans(silo => silo.UseSslSilo(builder.Configuration));
            var host = builder.Build();
            await host.StartAsync();
            silos.Add(host);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(silos))
        {
            try { await host.StopAsync(TimeSpan.FromSeconds(20)); }
            finally { host.Dispose(); }
        }
        await redis.DisposeAsync();
    }
}
