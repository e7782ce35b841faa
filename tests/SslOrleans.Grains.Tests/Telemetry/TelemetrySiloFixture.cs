using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Grains.Tests.Runs;
using SslOrleans.Hosting;
using SslOrleans.Hosting.Web;

namespace SslOrleans.Grains.Tests.Telemetry;

/// <summary>
/// One silo in this process wired as the silo program wires it (AddSslTelemetry, the HTTP endpoint on a free port),
/// with OpenTelemetry's in-memory exporters added the way an operator adds any exporter; one short SimCLR run (it has
/// the embed phase) with a checkpoint at step 2 and the final one at step 3, trained once for the tests of the class.
/// </summary>
public sealed class TelemetrySiloFixture : IAsyncLifetime
{
    public const int Steps = 3, Workers = 2;

    private IHost? host;

    public List<MetricSnapshot> Metrics { get; } = [];
    public List<Activity> Spans { get; } = [];
    public Uri Web { get; private set; } = null!;
    public RunSpec Spec { get; private set; } = null!;
    public RunStatus Final { get; private set; } = null!;
    public IGrainFactory Grains => host!.Services.GetRequiredService<IGrainFactory>();

    public async Task InitializeAsync()
    {
        int httpPort = Loopback.FreePort();
        Web = new Uri($"http://127.0.0.1:{httpPort}/");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddSslTelemetry(builder.Configuration);
        builder.Services.AddOpenTelemetry()
            // Exported when the fixture flushes, not by the clock: the list is not written while the tests read it.
            .WithMetrics(m => m.AddInMemoryExporter(Metrics, r => r.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 3_600_000))
            .WithTracing(t => t.AddInMemoryExporter(Spans));
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(Loopback.FreePort(), Loopback.FreePort(), serviceId: "sslo-telemetry", clusterId: "telemetry-" + Guid.NewGuid().ToString("N")[..8])
            .AddSslTraining(o => o.Devices = $"cpu*{Workers}")
            .AddSslWeb(o => o.Port = httpPort));
        host = builder.Build();
        await host.StartAsync();

        Spec = RunHarness.ForMethod(RunHarness.Tiny("otel", workers: Workers, steps: Steps), "simclr") with { CheckpointEvery = 2 };
        Final = await RunHarness.RunToEndAsync(Grains, Spec);
        Assert.True(Final.State == RunState.Completed, $"the run ended {Final.State} in phase {Final.Phase}: {Final.Error}");
        // The periodic reader would export in a minute: collect now. (ForceFlush answers false whatever the in-memory
        // reader did: the Prometheus reader only exports when scraped.)
        host.Services.GetRequiredService<MeterProvider>().ForceFlush(30_000);
        // The flush may return while the exporter thread still adds the snapshots: wait until their count holds still.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (int seen = -1; (Metrics.Count == 0 || Metrics.Count != seen) && DateTime.UtcNow < deadline; await Task.Delay(100))
            seen = Metrics.Count;
    }

    public async Task DisposeAsync()
    {
        if (host is null) return;
        try { await host.StopAsync(TimeSpan.FromSeconds(20)); }
        finally { host.Dispose(); }
        if (Spec is not null && Directory.Exists(Spec.Out)) Directory.Delete(Spec.Out, recursive: true);
    }
}
