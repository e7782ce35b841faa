using SslOrleans.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SslOrleans.Hosting.Web;

namespace SslOrleans.Hosting;

/// <summary>A single-process cluster (one silo on loopback, free ports) with its co-hosted client.</summary>
public sealed class EmbeddedCluster : ITrainingCluster
{
    private readonly IHost host;

    private EmbeddedCluster(IHost host) => this.host = host;

    public IClusterClient Client => host.Services.GetRequiredService<IClusterClient>();

    /// <summary>Starts the silo with <paramref name="workers"/> CPU slots sharing the machine's cores.</summary>
    public static async Task<EmbeddedCluster> StartAsync(int workers = 1, LogLevel logLevel = LogLevel.Warning, CancellationToken cancellation = default)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ToStandardError(logLevel);
        // Section "Telemetry" from the environment (Telemetry__Console=true, OTEL_EXPORTER_OTLP_ENDPOINT=…), as on a silo.
        builder.Services.AddSslTelemetry(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: Loopback.FreePort(), gatewayPort: Loopback.FreePort(), serviceId: "sslo-embedded", clusterId: "sslo-" + Guid.NewGuid().ToString("N")[..8])
                .AddSslTraining(o =>
                {
                    o.Devices = $"cpu*{Math.Max(1, workers)}";
                    // The blob account and transfer settings: SSLO_STORAGE, or Storage__* in the environment.
                    SslTrainingConfiguration.BindStorage(builder.Configuration, o);
                });
            // The run page and /metrics only when asked for (Silo__HttpPort=9464 sslo pretrain …): a command takes
            // no fixed port unless told to.
            if (builder.Configuration[$"{SiloConfiguration.Section}:{nameof(SiloConfiguration.HttpPort)}"] is { Length: > 0 })
                silo.AddSslWeb(builder.Configuration);
        });
        // The CLI owns Ctrl+C (stop after the step, checkpoint): the host must not shut the silo down under it.
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        var host = builder.Build();
        await host.StartAsync(cancellation);
        return new EmbeddedCluster(host);
    }

    public async ValueTask DisposeAsync()
    {
        try { await host.StopAsync(TimeSpan.FromSeconds(10)); }
        finally { host.Dispose(); }
    }
}
