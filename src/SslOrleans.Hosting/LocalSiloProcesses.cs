using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SslOrleans.Hosting;

/// <summary>
/// N silo host processes on loopback (development clustering, the first silo as primary) with a client connected
/// to them; disposing stops the client and kills exactly the processes it started. For benchmarks and tests that
/// need real processes rather than silos in one process.
/// </summary>
public sealed class LocalSiloProcesses : IAsyncDisposable
{
    private readonly List<(Process Process, StringBuilder Log)> silos = [];
    private readonly List<Uri> web = [];
    private IHost? client;

    public IClusterClient Client => client?.Services.GetRequiredService<IClusterClient>() ?? throw new InvalidOperationException("the client is not connected");

    /// <summary>Each silo's HTTP endpoint (run page, /api/runs, /metrics, /healthz), in start order.</summary>
    public IReadOnlyList<Uri> WebAddresses => web;

    /// <param name="environment">More configuration for every silo, e.g. SslTraining__ExchangeBench=true.</param>
    public static async Task<LocalSiloProcesses> StartAsync(string siloDll, int count, int slotsPerSilo, TextWriter log, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var cluster = new LocalSiloProcesses();
        try
        {
            var clusterId = "sslo-local-" + Guid.NewGuid().ToString("N")[..8];
            var siloPorts = Enumerable.Range(0, count).Select(_ => Loopback.FreePort()).ToArray();
            var gatewayPorts = Enumerable.Range(0, count).Select(_ => Loopback.FreePort()).ToArray();
            var httpPorts = Enumerable.Range(0, count).Select(_ => Loopback.FreePort()).ToArray();
            cluster.web.AddRange(httpPorts.Select(p => new Uri($"http://127.0.0.1:{p}/")));
            for (int i = 0; i < count; i++)
                cluster.Start(siloDll, new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
                {
                    ["Silo__ClusterId"] = clusterId,
                    ["Silo__Clustering"] = "Localhost",
                    ["Silo__SiloPort"] = siloPorts[i].ToString(),
                    ["Silo__GatewayPort"] = gatewayPorts[i].ToString(),
                    ["Silo__HttpPort"] = httpPorts[i].ToString(),
                    ["Silo__PrimarySiloPort"] = siloPorts[0].ToString(),
                    ["SslTraining__Devices"] = $"cpu*{slotsPerSilo}",
                    ["Logging__LogLevel__Default"] = "Warning",
                });
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
            foreach (var port in gatewayPorts)
                await Loopback.WaitUntilListeningAsync(port, deadline, cluster.ThrowIfAnyExited, () => $"the silos' logs:\n{cluster.Tail()}");
            cluster.client = await ConnectAsync(clusterId, gatewayPorts);
            await cluster.WaitForActiveAsync(count, deadline);
            // The HTTP endpoints open in the silos' Active stage, a moment after membership calls them active.
            foreach (var port in httpPorts)
                await Loopback.WaitUntilListeningAsync(port, deadline, cluster.ThrowIfAnyExited, () => $"the silos' logs:\n{cluster.Tail()}");
            log.WriteLine($"  {count} silo processes up (cluster {clusterId}, pids {string.Join(", ", cluster.silos.Select(s => s.Process.Id))})");
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
        var hosts = await Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        return hosts.Keys.OrderBy(s => s.ToString(), StringComparer.Ordinal).ToArray();
    }

    private void Start(string dll, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start dotnet {dll}");
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is { } line) lock (log) log.AppendLine(line); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } line) lock (log) log.AppendLine(line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        silos.Add((process, log));
    }

    private async Task WaitForActiveAsync(int count, DateTime deadline)
    {
        while ((await ActiveSilosAsync()).Length < count)
        {
            ThrowIfAnyExited();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"fewer than {count} silos became active; their logs:\n{Tail()}");
            await Task.Delay(200);
        }
    }

    private void ThrowIfAnyExited()
    {
        foreach (var (process, _) in silos)
            if (process.HasExited) throw new InvalidOperationException($"silo process {process.Id} exited with code {process.ExitCode}; logs:\n{Tail()}");
    }

    private string Tail()
    {
        var all = new StringBuilder();
        foreach (var (process, log) in silos)
            lock (log) all.AppendLine($"--- silo pid {process.Id}").Append(string.Join('\n', log.ToString().Split('\n').TakeLast(20)));
        return all.ToString();
    }

    private static async Task<IHost> ConnectAsync(string clusterId, int[] gatewayPorts)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(c => c.UseLocalhostClustering(gatewayPorts, serviceId: "sslo", clusterId: clusterId).AddSslTrainingClient());
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        if (client is not null)
        {
            try { await client.StopAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { /* the silos go next anyway */ }
            client.Dispose();
        }
        foreach (var (process, _) in silos)
        {
            try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }
}
