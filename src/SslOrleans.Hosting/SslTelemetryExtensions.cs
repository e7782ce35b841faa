using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SslOrleans.Grains.Diagnostics;

namespace SslOrleans.Hosting;

/// <summary>The one place that wires telemetry: the project's meter and activity source, Orleans' meter, exporters by configuration.</summary>
public static class SslTelemetryExtensions
{
    /// <summary>The meters a silo exports: the project's and Orleans' (Orleans 10 names all its instruments' meter so).</summary>
    public static readonly string[] Meters = [TrainingMetrics.MeterName, "Microsoft.Orleans"];

    /// <summary>The activity sources: the project's (a trace per step). Orleans' own grain-call spans
    /// (Microsoft.Orleans.*) are left out: one per message, they would drown the steps.</summary>
    public static readonly string[] Sources = [TrainingTracing.SourceName];

    /// <summary>
    /// Section "Telemetry" (<see cref="TelemetryConfiguration"/>): <c>Console</c> (true/false) exports metrics
    /// to the console every <c>ExportIntervalSeconds</c> (default 10); <c>Otlp:Endpoint</c> (and
    /// <c>Otlp:Protocol</c>, grpc or http/protobuf) or OpenTelemetry's OTEL_EXPORTER_OTLP_ENDPOINT export metrics,
    /// spans and logs over OTLP. The meters and the source join any provider the host builds, so a host (or a test)
    /// may add exporters of its own; the silo's HTTP endpoint adds Prometheus (<see cref="Web.SslWebExtensions"/>).
    /// </summary>
    public static IServiceCollection AddSslTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var t = TelemetryConfiguration.From(configuration);
        services.TryAddSingleton(t);
        services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddMeter(Meters));
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddSource(Sources));
        var otel = services.AddOpenTelemetry();
        // OTEL_SERVICE_NAME, when set, is read by the default resource and wins.
        if (configuration["OTEL_SERVICE_NAME"] is not { Length: > 0 })
            otel.ConfigureResource(r => r.AddService(t.ServiceName));
        if (t.Console)
        {
            // Metrics only: spans of every step would flood a console.
            otel.WithMetrics(metrics => metrics.AddConsoleExporter((_, reader) =>
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = t.ExportIntervalSeconds * 1000));
        }
        if (t.Otlp is { } otlp) otel.UseOtlpExporter(otlp.Protocol, otlp.Endpoint);
        else if (t.OtlpFromEnvironment) otel.UseOtlpExporter();
        if ((t.Otlp is not null || t.OtlpFromEnvironment) && t.ExportIntervalSet)
            services.Configure<MetricReaderOptions>(o => o.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = t.ExportIntervalSeconds * 1000);
        return services;
    }
}
