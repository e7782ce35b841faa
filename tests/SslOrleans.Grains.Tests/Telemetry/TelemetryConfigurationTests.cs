using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using SslOrleans.Grains.Diagnostics;
using SslOrleans.Hosting;
using SslOrleans.Hosting.Web;

namespace SslOrleans.Grains.Tests.Telemetry;

/// <summary>Section "Telemetry" and Silo:HttpPort: defaults, errors that name the key, OTLP reaching a receiver, a
/// taken HTTP port refused with the key to change.</summary>
[Trait("Category", "Operations")]
public sealed class TelemetryConfigurationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Defaults_export_nothing_but_the_silo_serves_http_on_9464()
    {
        var t = TelemetryConfiguration.From(Config());
        Assert.False(t.Console);
        Assert.Null(t.Otlp);
        Assert.False(t.OtlpFromEnvironment);
        Assert.Equal(("sslo", 10), (t.ServiceName, t.ExportIntervalSeconds));
        Assert.Equal(9464, SiloConfiguration.From(Config()).HttpPort);
        Assert.Equal(0, SiloConfiguration.From(Config(("Silo:HttpPort", "0"))).HttpPort);
        Assert.True(TelemetryConfiguration.From(Config((TelemetryConfiguration.OtlpEndpointVariable, "http://127.0.0.1:4317"))).OtlpFromEnvironment);
        var otlp = TelemetryConfiguration.From(Config(("Telemetry:Otlp:Endpoint", "http://127.0.0.1:4318"), ("Telemetry:Otlp:Protocol", "http/protobuf"))).Otlp!;
        Assert.Equal((new Uri("http://127.0.0.1:4318"), OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf), (otlp.Endpoint, otlp.Protocol));
    }

    [Theory]
    [InlineData("Telemetry:Consle", "true", "Telemetry:Consle: unknown key")]
    [InlineData("Telemetry:Console", "yes", "Telemetry:Console 'yes': must be true or false")]
    [InlineData("Telemetry:ExportIntervalSeconds", "0", "Telemetry:ExportIntervalSeconds '0': must be a whole number of seconds")]
    [InlineData("Telemetry:Otlp:Endpoint", "collector:4317", "Telemetry:Otlp:Endpoint 'collector:4317': must be an http:// or https:// address")]
    [InlineData("Telemetry:Otlp:Protocol", "grpc", "Telemetry:Otlp:Protocol 'grpc': needs Telemetry:Otlp:Endpoint too")]
    [InlineData("Telemetry:Otlp:Port", "4317", "Telemetry:Otlp:Port: unknown key")]
    [InlineData("Silo:HttpPort", "web", "Silo:HttpPort 'web': must be a TCP port")]
    [InlineData("Silo:HttpPort", "11111", "Silo:HttpPort '11111': must differ from Silo:SiloPort 11111")]
    public void A_bad_value_is_an_error_naming_its_key(string key, string value, string message)
    {
        var e = Assert.Throws<SslConfigurationException>(() =>
        {
            var config = Config((key, value));
            TelemetryConfiguration.From(config);
            SiloConfiguration.From(config);
        });
        Assert.Equal(key, e.Key);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task Telemetry_Otlp_Endpoint_sends_the_project_s_metrics_and_spans_to_an_OTLP_receiver()
    {
        await using var receiver = OtlpReceiver.Start();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection([new("Telemetry:Otlp:Endpoint", receiver.Address.ToString()), new("Telemetry:Otlp:Protocol", "http/protobuf")]);
        builder.Services.AddSslTelemetry(builder.Configuration);
        var host = builder.Build();
        await host.StartAsync();
        var run = "otlp-" + Guid.NewGuid().ToString("N")[..8];
        TrainingMetrics.Steps.Add(1, TrainingMetrics.Run(run, "byol"));
        var span = TrainingTracing.StartStep(run, "byol", 1);
        Assert.NotNull(span);
        span.Dispose();
        bool metricsFlushed = host.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
        bool tracesFlushed = host.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000);
        await host.StopAsync();
        // A batch span processor's flush may return once the batch is taken, before its POST is answered; disposing
        // the providers shuts their exporters down, which waits for it.
        host.Dispose();

        // Protobuf carries strings as they are: the names and the run id are in the bodies (the metrics twice: the
        // reader exports its cumulative totals again as it shuts down).
        var received = receiver.Requests;
        var seen = $"flushed: metrics {metricsFlushed}, traces {tracesFlushed}; received: {string.Join(", ", received.Select(r => $"{r.Path} ({r.Body.Length} bytes, run {(r.Body.Contains(run) ? "in" : "not in")} it)"))}";
        var metrics = received.FirstOrDefault(r => r.Path == "/v1/metrics" && r.Body.Contains(run));
        Assert.True(metrics.Path is not null, seen);
        Assert.Contains("sslo.steps", metrics.Body);
        Assert.Equal("application/x-protobuf", metrics.ContentType);
        var traces = received.FirstOrDefault(r => r.Path == "/v1/traces" && r.Body.Contains(run));
        Assert.True(traces.Path is not null, seen);
        Assert.Contains("sslo.step", traces.Body);
    }

    [Fact]
    public async Task A_taken_http_port_stops_the_silo_with_the_key_to_change()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(Loopback.FreePort(), Loopback.FreePort(), serviceId: "sslo-port", clusterId: "port-" + Guid.NewGuid().ToString("N")[..8])
            .AddSslTraining(o => o.Devices = "none")
            .AddSslWeb(o => o.Port = port));
        using var host = builder.Build();
        var e = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        var refusal = Flatten(e).OfType<SslConfigurationException>().FirstOrDefault()
            ?? throw new Xunit.Sdk.XunitException($"no SslConfigurationException in {e}");
        Assert.Equal("Silo:HttpPort", refusal.Key);
        Assert.Contains($"Silo:HttpPort {port}: cannot listen on 127.0.0.1:{port}", refusal.Message);
        try { await host.StopAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { /* it never started */ }
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        yield return e;
        if (e is AggregateException a)
            foreach (var inner in a.InnerExceptions.SelectMany(Flatten)) yield return inner;
        else if (e.InnerException is { } i)
            foreach (var inner in Flatten(i)) yield return inner;
    }

    /// <summary>An OTLP/HTTP receiver on a free loopback port that keeps what is posted to it.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly HttpListener listener = new();
        private readonly Task serving;
        private readonly List<(string Path, string ContentType, string Body)> requests = [];

        private OtlpReceiver(int port)
        {
            Address = new Uri($"http://127.0.0.1:{port}/");
            listener.Prefixes.Add(Address.ToString());
            listener.Start();
            serving = ServeAsync();
        }

        public Uri Address { get; }

        public IReadOnlyList<(string Path, string ContentType, string Body)> Requests { get { lock (requests) return requests.ToList(); } }

        public static OtlpReceiver Start() => new(Loopback.FreePort());

        private async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                lock (requests) requests.Add((context.Request.Url!.AbsolutePath, context.Request.ContentType ?? "", Encoding.Latin1.GetString(body.ToArray())));
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        public async ValueTask DisposeAsync()
        {
            listener.Stop();
            listener.Close();
            await serving;
        }
    }
}
