using System.Diagnostics;
using System.Net;
using System.Text.Json;
using OpenTelemetry.Metrics;

namespace SslOrleans.Grains.Tests.Telemetry;

/// <summary>
/// The metrics and spans a real run produces, as OpenTelemetry's in-memory exporter receives them through
/// AddSslTelemetry, and the silo's HTTP endpoint answering over HTTP: /metrics in Prometheus' text format, the JSON
/// the run page polls, /healthz.
/// </summary>
[Trait("Category", "Operations")]
public sealed class TelemetryTests(TelemetrySiloFixture fixture) : IClassFixture<TelemetrySiloFixture>
{
    private string RunId => fixture.Spec.RunId;

    [Theory]
    [InlineData("sslo.steps", "{step}")]
    [InlineData("sslo.images", "{image}")]
    [InlineData("sslo.throughput", "{image}/s")]
    [InlineData("sslo.loss", "1")]
    [InlineData("sslo.workers", "{worker}")]
    [InlineData("sslo.step.duration", "s")]
    [InlineData("sslo.step.phase.duration", "s")]
    [InlineData("sslo.worker.compute.duration", "s")]
    [InlineData("sslo.exchange.bytes", "By")]
    [InlineData("sslo.exchange.duration", "s")]
    [InlineData("sslo.apply.duration", "s")]
    [InlineData("sslo.checkpoints", "{checkpoint}")]
    [InlineData("sslo.checkpoint.duration", "s")]
    [InlineData("sslo.checkpoint.blocked", "s")]
    [InlineData("sslo.checkpoint.bytes", "By")]
    public void A_run_exports_each_training_metric_with_its_unit_tagged_with_the_run(string name, string unit)
    {
        var metric = Latest(name);
        Assert.Equal(unit, metric.Unit);
        Assert.Equal("SslOrleans.Training", metric.MeterName);
        Assert.NotEmpty(PointsOfRun(metric));
    }

    [Fact]
    public void The_metrics_count_what_the_run_did()
    {
        var steps = Assert.Single(PointsOfRun(Latest("sslo.steps")));
        Assert.Equal(TelemetrySiloFixture.Steps, steps.GetSumLong());
        Assert.Equal(TelemetrySiloFixture.Steps * fixture.Spec.Batch, Assert.Single(PointsOfRun(Latest("sslo.images"))).GetSumLong());
        Assert.Equal(TelemetrySiloFixture.Steps, Assert.Single(PointsOfRun(Latest("sslo.step.duration"))).GetHistogramCount());
        Assert.Equal(TelemetrySiloFixture.Workers, Assert.Single(PointsOfRun(Latest("sslo.workers"))).GetGaugeLastValueLong());
        var loss = Assert.Single(PointsOfRun(Latest("sslo.loss"))).GetGaugeLastValueDouble();
        Assert.Equal(fixture.Final.Result!.LossLast, loss, 6);
        Assert.True(Assert.Single(PointsOfRun(Latest("sslo.throughput"))).GetGaugeLastValueDouble() > 0);

        // Every phase of every step, once per step; SimCLR has the embed phase. The workers' commits applied every step
        // and each step's work pulled the last one's result: the coordinator had no apply or pull phase of its own.
        var phases = PointsOfRun(Latest("sslo.step.phase.duration")).ToDictionary(p => Tag(p, "sslo.phase")!, p => p.GetHistogramCount());
        Assert.Equal(new Dictionary<string, long> { ["sample"] = 3, ["embed"] = 3, ["compute"] = 3 }, phases);

        // Each worker measures its own exchange: pushes of gradients every step, pulls of parameters.
        var bytes = PointsOfRun(Latest("sslo.exchange.bytes")).ToDictionary(p => Tag(p, "sslo.direction")!, p => p.GetSumLong());
        Assert.Equal(["pull", "push"], bytes.Keys.Order());
        Assert.All(bytes.Values, b => Assert.True(b > 0));
        Assert.Equal(TelemetrySiloFixture.Steps * TelemetrySiloFixture.Workers,
            PointsOfRun(Latest("sslo.worker.compute.duration")).Sum(p => p.GetHistogramCount()));

        // The checkpoint of step 2 and the final one of step 3.
        Assert.Equal(2, Assert.Single(PointsOfRun(Latest("sslo.checkpoints"))).GetSumLong());
        Assert.True(Assert.Single(PointsOfRun(Latest("sslo.checkpoint.bytes"))).GetSumLong() > 0);
    }

    [Fact]
    public void Orleans_own_meter_is_exported_beside_the_project_s()
    {
        Assert.Contains(fixture.Metrics, m => m.MeterName == "Microsoft.Orleans");
    }

    [Fact]
    public void Each_step_is_a_trace_whose_span_holds_its_phases_and_the_workers_compute_and_push()
    {
        var steps = fixture.Spans.Where(s => s.OperationName == "sslo.step" && (string?)s.GetTagItem("sslo.run") == RunId)
            .OrderBy(s => (long)s.GetTagItem("sslo.step")!).ToList();
        Assert.Equal([1L, 2, 3], steps.Select(s => (long)s.GetTagItem("sslo.step")!));
        Assert.All(steps, s => Assert.Equal(default, s.ParentSpanId));
        Assert.Equal(3, steps.Select(s => s.TraceId).Distinct().Count());
        foreach (var step in steps)
        {
            var children = fixture.Spans.Where(s => s.ParentSpanId == step.SpanId).ToList();
            Assert.All(children, c => Assert.Equal(step.TraceId, c.TraceId));
            var names = children.GroupBy(c => c.OperationName).ToDictionary(g => g.Key, g => g.Count());
            // Sampling and embedding on the coordinator; computing, pushing and committing (the last commit applies) on
            // each worker. No apply or pull phase: the shards applied in the commits.
            Assert.Equal(1, names.GetValueOrDefault("sslo.sample"));
            Assert.Equal(1, names.GetValueOrDefault("sslo.embed"));
            Assert.Equal(TelemetrySiloFixture.Workers, names.GetValueOrDefault("sslo.compute"));
            Assert.Equal(TelemetrySiloFixture.Workers, names.GetValueOrDefault("sslo.push"));
            Assert.Equal(TelemetrySiloFixture.Workers, names.GetValueOrDefault("sslo.commit"));
            Assert.Equal(0, names.GetValueOrDefault("sslo.apply"));
            // Each worker pulls the last step's result in the step's first call (the embedding), unless it holds it: the
            // run's start synced step 1, the checkpoint after step 2 synced step 3.
            long number = (long)step.GetTagItem("sslo.step")!;
            Assert.Equal(number == 2 ? TelemetrySiloFixture.Workers : 0, fixture.Spans.Count(s => s.OperationName == "sslo.pull" && s.TraceId == step.TraceId));
            // The phases lie within the step; a checkpoint, its child too, goes on after it.
            Assert.All(children.Where(c => c.OperationName != "sslo.checkpoint"), c => Assert.InRange(c.StartTimeUtc, step.StartTimeUtc, step.StartTimeUtc + step.Duration));
            Assert.Equal(ActivityStatusCode.Unset, step.Status);
        }
        // The checkpoints of steps 2 and 3, each the child of the step whose state it saved.
        var checkpoints = fixture.Spans.Where(s => s.OperationName == "sslo.checkpoint" && (string?)s.GetTagItem("sslo.run") == RunId).ToList();
        Assert.Equal([2L, 3], checkpoints.Select(c => (long)c.GetTagItem("sslo.step")!).Order());
        Assert.All(checkpoints, c => Assert.Equal(steps.Single(s => (long)s.GetTagItem("sslo.step")! == (long)c.GetTagItem("sslo.step")!).SpanId, c.ParentSpanId));
        Assert.All(checkpoints, c => Assert.True((long)c.GetTagItem("sslo.bytes")! > 0));
    }

    [Fact]
    public async Task The_metrics_endpoint_serves_the_run_s_step_counter_in_Prometheus_text()
    {
        using var http = new HttpClient { BaseAddress = fixture.Web };
        using var response = await http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var line = Assert.Single(text.Split('\n'), l => l.StartsWith("sslo_steps_total{", StringComparison.Ordinal) && l.Contains($"sslo_run=\"{RunId}\""));
        Assert.Equal(TelemetrySiloFixture.Steps, double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("# TYPE sslo_steps_total counter", text);
        Assert.Contains("sslo_step_duration_seconds_bucket{", text);
        Assert.Contains("sslo_exchange_bytes_total{", text);
    }

    [Fact]
    public async Task The_page_s_json_names_the_run_its_steps_and_checkpoints_and_healthz_answers()
    {
        using var http = new HttpClient { BaseAddress = fixture.Web };
        using (var health = await http.GetAsync("healthz")) Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        using var list = JsonDocument.Parse(await http.GetStringAsync("api/runs"));
        var run = Assert.Single(list.RootElement.GetProperty("runs").EnumerateArray(), r => r.GetProperty("runId").GetString() == RunId);
        Assert.Equal("completed", run.GetProperty("state").GetString());
        Assert.Equal("simclr", run.GetProperty("method").GetString());

        using var detail = JsonDocument.Parse(await http.GetStringAsync($"api/runs/{RunId}?after=1"));
        Assert.Equal([2L, 3], detail.RootElement.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetInt64()));
        Assert.Equal(3, detail.RootElement.GetProperty("status").GetProperty("step").GetInt64());

        using var checkpoints = JsonDocument.Parse(await http.GetStringAsync($"api/runs/{RunId}/checkpoints"));
        Assert.Equal([3L, 2], checkpoints.RootElement.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("step").GetInt64()));

        using var page = await http.GetAsync("");
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("id=\"loss-chart\"", await page.Content.ReadAsStringAsync());

        using var unknown = await http.GetAsync("api/runs/no-such-run");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var bad = await http.GetAsync($"api/runs/{RunId}?after=soon");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using var error = JsonDocument.Parse(await bad.Content.ReadAsStringAsync());
        Assert.StartsWith("after 'soon': must be a step number", error.RootElement.GetProperty("error").GetString());
    }

    /// <summary>The last export of a metric (the reader exports cumulative totals).</summary>
    private MetricSnapshot Latest(string name) =>
        fixture.Metrics.LastOrDefault(m => m.Name == name && PointsOfRun(m).Any())
        ?? throw new Xunit.Sdk.XunitException($"no export of {name} for run {RunId}; exported: {string.Join(", ", fixture.Metrics.Select(m => m.Name).Distinct().Order())}");

    private IEnumerable<MetricPoint> PointsOfRun(MetricSnapshot metric) => metric.MetricPoints.Where(p => Tag(p, "sslo.run") == RunId);

    private static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
            if (tag.Key == key) return tag.Value as string;
        return null;
    }
}
