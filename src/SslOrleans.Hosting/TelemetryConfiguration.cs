using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;

namespace SslOrleans.Hosting;

/// <summary>
/// The "Telemetry" configuration section: which exporters take the project's and Orleans' telemetry.
/// <see cref="From"/> checks every key and throws a <see cref="SslConfigurationException"/> that names the key.
/// </summary>
public sealed class TelemetryConfiguration
{
    public const string Section = "Telemetry";

    /// <summary>OpenTelemetry's own variable for the OTLP endpoint; it turns the OTLP exporter on too.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    private static readonly string[] Keys = [nameof(Console), nameof(ExportIntervalSeconds), nameof(Otlp), nameof(ServiceName)];
    private static readonly string[] OtlpKeys = [nameof(OtlpSettings.Endpoint), nameof(OtlpSettings.Protocol)];

    /// <summary>Metrics to the console (development).</summary>
    public bool Console { get; private init; }

    /// <summary>How often metrics are pushed to the console (and to OTLP, when set); Prometheus scrapes whenever it likes.</summary>
    public int ExportIntervalSeconds { get; private init; } = 10;

    /// <summary>Whether ExportIntervalSeconds was set: OTLP keeps OpenTelemetry's own period (OTEL_METRIC_EXPORT_INTERVAL, 60 s) otherwise.</summary>
    public bool ExportIntervalSet { get; private init; }

    /// <summary>OTLP from Telemetry:Otlp:Endpoint; null when that key is not set.</summary>
    public OtlpSettings? Otlp { get; private init; }

    /// <summary>No Telemetry:Otlp:Endpoint but OTEL_EXPORTER_OTLP_ENDPOINT is set: the exporter reads OpenTelemetry's
    /// standard variables (endpoint, protocol, headers) itself.</summary>
    public bool OtlpFromEnvironment { get; private init; }

    /// <summary>The resource's service.name (OTEL_SERVICE_NAME wins when set).</summary>
    public string ServiceName { get; private init; } = "sslo";

    public sealed record OtlpSettings(Uri Endpoint, OtlpExportProtocol Protocol);

    public static TelemetryConfiguration From(IConfiguration configuration)
    {
        var s = new SectionReader(configuration, Section, Keys);
        var defaults = new TelemetryConfiguration();
        bool console = Bool(s, nameof(Console)) ?? defaults.Console;
        int? interval = s.Int(nameof(ExportIntervalSeconds), 1, 86_400, "must be a whole number of seconds, at least 1");
        var serviceName = s.Text(nameof(ServiceName)) ?? defaults.ServiceName;

        OtlpSettings? otlp = null;
        var o = new SectionReader(configuration, $"{Section}:{nameof(Otlp)}", OtlpKeys);
        if (o.Text(nameof(OtlpSettings.Endpoint)) is { } endpointText)
        {
            if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
                throw o.Error(nameof(OtlpSettings.Endpoint), "must be an http:// or https:// address, e.g. http://127.0.0.1:4317 (gRPC) or http://127.0.0.1:4318 (http/protobuf)");
            var protocol = o.Text(nameof(OtlpSettings.Protocol)) switch
            {
                null or "grpc" => OtlpExportProtocol.Grpc,
                "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
                _ => throw o.Error(nameof(OtlpSettings.Protocol), "must be grpc or http/protobuf"),
            };
            otlp = new OtlpSettings(endpoint, protocol);
        }
        else if (o.Text(nameof(OtlpSettings.Protocol)) is not null)
        {
            throw o.Error(nameof(OtlpSettings.Protocol), $"needs {o.Path(nameof(OtlpSettings.Endpoint))} too");
        }

        return new TelemetryConfiguration
        {
            Console = console, ExportIntervalSeconds = interval ?? defaults.ExportIntervalSeconds, ExportIntervalSet = interval is not null,
            Otlp = otlp, OtlpFromEnvironment = otlp is null && configuration[OtlpEndpointVariable] is { Length: > 0 }, ServiceName = serviceName,
        };
    }

    private static bool? Bool(SectionReader s, string key) => s.Text(key) switch
    {
        null => null,
        var text when bool.TryParse(text, out var v) => v,
        _ => throw s.Error(key, "must be true or false"),
    };
}
