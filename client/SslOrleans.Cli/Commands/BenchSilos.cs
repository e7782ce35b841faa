using Microsoft.Extensions.DependencyInjection;
using SslOrleans.Abstractions.Security;
using SslOrleans.Hosting;
using SslOrleans.Hosting.Security;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// The silos a benchmark measures: silo processes (the silo host, as deployed), or silos in this process (each on its
/// own loopback ports), whose Orleans connections and tensor data plane can be mutual TLS with a throwaway authority made here.
/// </summary>
internal sealed class BenchSilos : IAsyncDisposable
{
    private readonly LocalSiloProcesses? processes;
    private readonly InProcessSilos? inProcess;
    private readonly ClusterTls[] identities;
    private readonly string? certificateFolder;

    private BenchSilos(LocalSiloProcesses? processes, InProcessSilos? inProcess, ClusterTls[] identities, string? certificateFolder) =>
        (this.processes, this.inProcess, this.identities, this.certificateFolder) = (processes, inProcess, identities, certificateFolder);

    public IClusterClient Client => processes?.Client ?? inProcess!.Client;

    /// <summary>The silos' tensor data planes when they run in this process (none for silo processes).</summary>
    public IReadOnlyList<Grains.Compute.TensorDataPlane> Planes =>
        inProcess?.SiloServices.Select(s => s.GetRequiredService<Grains.Compute.TensorDataPlane>()).ToList() ?? [];

    public Task<SiloAddress[]> ActiveSilosAsync() => processes?.ActiveSilosAsync() ?? inProcess!.ActiveSilosAsync();

    /// <summary>Silo processes of <paramref name="siloDll"/>, or (null) silos in this process, their data plane over TLS when <paramref name="tls"/>.</summary>
    public static async Task<BenchSilos> StartAsync(string? siloDll, int count, int slotsPerSilo, bool tls, TextWriter log)
    {
        // Silos host the benchmark's grain only when they enable it.
        if (siloDll is not null)
            return new BenchSilos(await LocalSiloProcesses.StartAsync(siloDll, count, slotsPerSilo, log,
                environment: new Dictionary<string, string> { ["SslTraining__ExchangeBench"] = "true" }), null, [], null);
        string? folder = tls ? Path.Combine(Path.GetTempPath(), "sslo-bench-tls-" + Guid.NewGuid().ToString("N")[..8]) : null;
        var identities = folder is null ? [] : ThrowawayCertificates.Cluster(folder, Enumerable.Range(0, count).Select(i => $"silo{i}").ToArray());
        try
        {
            // With --tls both of a silo's transports are mutual TLS: Orleans' silo-to-silo connections and the data plane.
            var silos = await InProcessSilos.StartAsync(count, $"cpu*{slotsPerSilo}", configure: (i, silo) =>
            {
                if (tls) silo.UseClusterTls(identities[i]);
            }, training: (i, o) =>
            {
                o.ExchangeBench = true;
                if (tls) o.Tls = identities[i];
            });
            log.WriteLine($"  {count} in-process silos up, Orleans and the data plane over {(tls ? $"mutual TLS ({identities[0].Describe()})" : "plain TCP")}");
            return new BenchSilos(null, silos, identities, folder);
        }
        catch
        {
            Forget(identities, folder);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (processes is not null) await processes.DisposeAsync();
        if (inProcess is not null) await inProcess.DisposeAsync();
        Forget(identities, certificateFolder);
    }

    /// <summary>The throwaway keys do not outlive the benchmark.</summary>
    private static void Forget(ClusterTls[] identities, string? folder)
    {
        foreach (var identity in identities) identity.Dispose();
        if (folder is not null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }
}
