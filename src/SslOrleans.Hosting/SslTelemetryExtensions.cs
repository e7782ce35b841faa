using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using SslOrleans.Grains.Diagnostics;

namespace SslOrleans.Hosting;

/// <summary>The one place that wires telemetry: the project's meter and Orleans' meter, exporters by configuration.</summary>
public static class SslTelemetryExtensions
{
    /// <summary>
    /// Section "Telemetry": <c>Console</c> (true/false) exports metrics to the console every
    /// <c>ExportIntervalSeconds</c> (default 10).
    /// </summary>
    public static IServiceCollection AddSslTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("Telemetry");
        bool console = section.GetValue("Console", false);
        int interval = section.GetValue("ExportIntervalSeconds", 10);
        if (interval < 1) throw new ArgumentOutOfRangeException("Telemetry:ExportIntervalSeconds", interval, "must be at least 1");
        services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter(TrainingMetrics.MeterName, "Microsoft.Orleans");
            if (console)
                metrics.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval * 1000);
        });
        return services;
    }
}
