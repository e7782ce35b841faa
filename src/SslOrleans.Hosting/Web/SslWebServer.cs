using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace SslOrleans.Hosting.Web;

/// <summary>
/// Kestrel beside the silo: started in the silo's Active stage (so a listening port means an active silo). When the silo
/// stops, /healthz/ready turns 503 at once (host stopping, or the silo's Active stage stopping), while the endpoint keeps
/// serving through the silo's graceful leave (its BecomeActive stage: membership ShuttingDown, grains deactivated); it
/// closes in the ApplicationServices stage. So a prober sees "not ready" before the port closes, and Kubernetes stops
/// routing to the pod first. Its own minimal pipeline holds only what the endpoints need; the grains, the checkpoint
/// stores and the meter provider come from the silo's services.
/// </summary>
internal sealed class SslWebServer(SslWebOptions options, IServiceProvider silo, ILogger<SslWebServer> log) : ILifecycleParticipant<ISiloLifecycle>
{
    private WebApplication? app;
    private readonly SiloReadiness readiness = new(silo.GetRequiredService<ISiloStatusOracle>());

    public void Participate(ISiloLifecycle lifecycle)
    {
        lifecycle.Subscribe(nameof(SslWebServer), ServiceLifecycleStage.Active, StartAsync, _ => { readiness.BeginStopping(); return Task.CompletedTask; });
        lifecycle.Subscribe(nameof(SslWebServer) + ".Close", ServiceLifecycleStage.ApplicationServices, _ => Task.CompletedTask, StopAsync);
    }

    private async Task StartAsync(CancellationToken cancellation)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(SslWebServer).Assembly.GetName().Name });
        // Kestrel's and the endpoints' logs go where the silo's go.
        builder.Services.AddSingleton(silo.GetRequiredService<ILoggerFactory>());
        builder.Services.AddLogging();
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(options.Address, options.Port));
        var web = builder.Build();
        web.UseOpenTelemetryPrometheusScrapingEndpoint(silo.GetRequiredService<MeterProvider>(), predicate: null, path: "/metrics",
            configureBranchedPipeline: null, optionsName: null);
        new RunPageEndpoints(silo).Map(web);
        new HealthEndpoints(silo, readiness).Map(web);
        // The host's stop begins before the silo's lifecycle stops: not ready from that moment.
        silo.GetService<IHostApplicationLifetime>()?.ApplicationStopping.Register(readiness.BeginStopping);
        try
        {
            await web.StartAsync(cancellation);
        }
        catch (IOException e)
        {
            await web.DisposeAsync();
            throw new SslConfigurationException($"{SiloConfiguration.Section}:{nameof(SiloConfiguration.HttpPort)}",
                $"{SiloConfiguration.Section}:{nameof(SiloConfiguration.HttpPort)} {options.Port}: cannot listen on {options.Address}:{options.Port} " +
                $"({e.Message}); give each silo on a machine its own port, or 0 for no HTTP endpoint");
        }
        app = web;
        log.LogInformation("Run page {Page}, metrics {Metrics}", options.BaseAddress, new Uri(options.BaseAddress, "metrics"));
    }

    private async Task StopAsync(CancellationToken cancellation)
    {
        if (app is not { } web) return;
        app = null;
        try { await web.StopAsync(cancellation); }
        finally { await web.DisposeAsync(); }
    }
}
