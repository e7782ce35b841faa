using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace SslOrleans.Hosting.Web;

/// <summary>Where a silo's HTTP endpoint listens.</summary>
public sealed class SslWebOptions
{
    /// <summary>The TCP port, 1 to 65535.</summary>
    public int Port { get; set; }

    /// <summary>The address to listen on: loopback, or <see cref="IPAddress.Any"/> on a silo reached from other machines.</summary>
    public IPAddress Address { get; set; } = IPAddress.Loopback;

    /// <summary>The endpoint's base address as this machine reaches it, e.g. http://127.0.0.1:9464/.</summary>
    public Uri BaseAddress => new($"http://{(Address.Equals(IPAddress.Any) ? IPAddress.Loopback : Address)}:{Port}/");
}

public static class SslWebExtensions
{
    /// <summary>
    /// The silo's HTTP endpoint on <c>Silo:HttpPort</c> (default <see cref="SiloConfiguration.DefaultHttpPort"/>; 0: none),
    /// listening where the silo does (loopback, or every address when <c>Silo:AdvertisedIP</c> is routable).
    /// </summary>
    public static ISiloBuilder AddSslWeb(this ISiloBuilder silo, IConfiguration configuration)
    {
        var c = SiloConfiguration.From(configuration);
        if (c.HttpPort == 0) return silo;
        return silo.AddSslWeb(o =>
        {
            o.Port = c.HttpPort;
            o.Address = IPAddress.IsLoopback(c.AdvertisedIP) ? IPAddress.Loopback : IPAddress.Any;
        });
    }

    /// <summary>
    /// Serves, while the silo is active: <c>/</c> the run page, <c>/api/runs</c>, <c>/api/runs/{id}</c> and
    /// <c>/api/runs/{id}/checkpoints</c> (JSON the page polls), <c>/metrics</c> (Prometheus text: the project's and
    /// Orleans' meters, through OpenTelemetry's Prometheus exporter) and <c>/healthz</c>. Kestrel runs beside the silo
    /// in its own small pipeline, so any host (the silo program, the embedded cluster) can have it.
    /// </summary>
    public static ISiloBuilder AddSslWeb(this ISiloBuilder silo, Action<SslWebOptions> configure)
    {
        var options = new SslWebOptions();
        configure(options);
        if (options.Port is < 1 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(configure), options.Port, "the HTTP endpoint's port must be from 1 to 65535");
        silo.Services.AddSingleton(options);
        // Prometheus pulls: its reader collects only when /metrics is asked. The meters are added here too, so that
        // /metrics shows them even on a host that wires no other telemetry.
        silo.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddMeter(SslTelemetryExtensions.Meters));
        silo.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddPrometheusExporter());
        silo.Services.AddSingleton<SslWebServer>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SslWebServer>());
        return silo;
    }
}
