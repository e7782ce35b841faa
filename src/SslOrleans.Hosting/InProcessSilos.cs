using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using SslOrleans.Client;

namespace SslOrleans.Hosting;

/// <summary>
/// A cluster of several silos in this one process (Localhost clustering on free loopback ports, the first silo the
/// primary), each with the training configuration (<see cref="SslTrainingSiloExtensions.AddSslTraining"/>) and its own
/// device slots, with the first silo's co-hosted client. For benchmarks of coordination across many silos without a
/// process per silo; the silos still talk to each other over loopback TCP as separate processes would.
/// </summary>
public sealed class InProcessSilos : ITrainingCluster
{
    private readonly List<IHost> hosts = [];
    private volatile bool stopping;

    private InProcessSilos() { }

    public IClusterClient Client => hosts[0].Services.GetRequiredService<IClusterClient>();

    public int Count => hosts.Count;

    /// <summary>Each silo's services, in start order (its data plane, its options), for benchmarks that report on them.</summary>
    public IReadOnlyList<IServiceProvider> SiloServices => hosts.Select(h => h.Services).ToList();

    /// <summary>Starts <paramref name="count"/> silos offering <paramref name="devices"/> each (e.g. cpu*2);
    /// <paramref name="configure"/> adds to silo i's builder (call filters, options); <paramref name="training"/> sets silo
    /// i's training options beyond its devices (ExchangeBench, its TLS identity).</summary>
    public static async Task<InProcessSilos> StartAsync(int count, string devices, Action<int, ISiloBuilder>? configure = null,
        LogLevel logLevel = LogLevel.Warning, CancellationToken cancellation = default, Action<int, SslTrainingOptions>? training = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var cluster = new InProcessSilos();
        try
        {
            var clusterId = "sslo-inproc-" + Guid.NewGuid().ToString("N")[..8];
            var siloPorts = Enumerable.Range(0, count).Select(_ => Loopback.FreePort()).ToArray();
            var primary = new IPEndPoint(IPAddress.Loopback, siloPorts[0]);
            // The primary first (it holds the development membership table), then the others together.
            cluster.hosts.Add(await cluster.StartOneAsync(0, siloPorts[0], primary, clusterId, devices, configure, training, logLevel, cancellation));
            var others = await Task.WhenAll(Enumerable.Range(1, count - 1)
                .Select(i => cluster.StartOneAsync(i, siloPorts[i], primary, clusterId, devices, configure, training, logLevel, cancellation)));
            cluster.hosts.AddRange(others);
            await cluster.WaitForActiveAsync(count, cancellation);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The active silos, in address order.</summary>
    public async Task<SiloAddress[]> ActiveSilosAsync()
    {
        var active = await Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        return active.Keys.OrderBy(s => s.ToString(), StringComparer.Ordinal).ToArray();
    }

    private async Task<IHost> StartOneAsync(int index, int siloPort, IPEndPoint primary, string clusterId, string devices,
        Action<int, ISiloBuilder>? configure, Action<int, SslTrainingOptions>? training, LogLevel logLevel, CancellationToken cancellation)
    {
        var builder = Host.CreateApplicationBuilder();
        // As CliLogging.ToStandardError (Orleans' own categories only when they are errors), and nothing once the cluster is
        // being disposed: silos stopping together log the peers they can no longer reach. One rule, so that it alone decides.
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter((category, level) => !stopping
            && level >= (category?.StartsWith("Orleans", StringComparison.Ordinal) == true ? LogLevel.Error : logLevel));
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: siloPort, gatewayPort: Loopback.FreePort(), primarySiloEndpoint: primary,
                    serviceId: "sslo-inproc", clusterId: clusterId)
                .Configure<SiloOptions>(o => o.SiloName = $"silo{index}")
                .AddSslTraining(o =>
                {
                    o.Devices = devices;
                    training?.Invoke(index, o);
                });
            configure?.Invoke(index, silo);
        });
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        var host = builder.Build();
        await host.StartAsync(cancellation);
        return host;
    }

    private async Task WaitForActiveAsync(int count, CancellationToken cancellation)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while ((await ActiveSilosAsync()).Length < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"fewer than {count} in-process silos became active in 2 minutes");
            await Task.Delay(200, cancellation);
        }
    }

    public async ValueTask DisposeAsync()
    {
        stopping = true;
        // The others together, then the primary, which holds the membership table they leave.
        await Task.WhenAll(hosts.Skip(1).Select(StopAsync));
        if (hosts.Count > 0) await StopAsync(hosts[0]);
    }

    private static async Task StopAsync(IHost host)
    {
        try { await host.StopAsync(TimeSpan.FromSeconds(10)); }
        catch (Exception) { /* the other silos still stop */ }
        finally { host.Dispose(); }
    }
}
