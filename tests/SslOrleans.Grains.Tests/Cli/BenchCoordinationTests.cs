using System.Text.Json;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>`sslo bench coordination`: real runs of a tiny model on several silos in the test process, few workers against many.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class BenchCoordinationTests
{
    [Fact]
    public async Task A_small_run_reports_coordination_per_step_its_phases_and_the_grain_calls_for_both_worker_counts()
    {
        var (code, stdout, stderr) = await SsloInProcess.RunAsync("bench", "coordination", "--silos", "3", "--workers", "4", "--baseline-workers", "2",
            "--steps", "4", "--warmup", "1");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var r = json.RootElement;
        Assert.Equal(3, r.GetProperty("silos").GetInt32());
        Assert.Equal(3, r.GetProperty("parameter_shards").GetInt32()); // one per silo by default
        Assert.InRange(r.GetProperty("parameters").GetInt64(), 1000, 20_000); // ResNet-18 at width 1, heads of 16
        var runs = r.GetProperty("runs").EnumerateArray().ToArray();
        Assert.Equal([2, 4], runs.Select(run => run.GetProperty("workers").GetInt32()));
        string[]? phaseNames = null;
        foreach (var run in runs)
        {
            int workers = run.GetProperty("workers").GetInt32();
            Assert.Equal(3, run.GetProperty("steps_measured").GetInt32()); // 4 steps, the first left out
            Assert.Equal(workers * 2, run.GetProperty("batch").GetInt32()); // one micro-batch of 2 per worker
            Assert.Equal(Math.Min(workers, 3), run.GetProperty("worker_silos").GetInt32());
            double step = run.GetProperty("step_ms_median").GetDouble(), coordination = run.GetProperty("coordination_ms_median").GetDouble();
            Assert.True(coordination > 0 && coordination < step, $"coordination {coordination} ms of a {step} ms step");
            Assert.True(run.GetProperty("coordination_ms_p90").GetDouble() >= coordination);
            // Whatever phases the coordinator records, every step has each of them, in both runs.
            var phases = run.GetProperty("phases_ms_median").EnumerateObject().ToArray();
            Assert.NotEmpty(phases);
            Assert.All(phases, p => Assert.True(p.Value.GetDouble() >= 0, p.Name));
            phaseNames ??= phases.Select(p => p.Name).ToArray();
            Assert.Equal(phaseNames, phases.Select(p => p.Name));
            var calls = run.GetProperty("calls_by_grain_type");
            Assert.True(calls.GetProperty("worker").GetProperty("calls_per_step").GetDouble() >= workers, "every worker is called each step");
            var busiest = run.GetProperty("busiest_grain");
            Assert.InRange(busiest.GetProperty("share").GetDouble(), 0.0, 1.0);
        }
        Assert.Equal(runs[1].GetProperty("coordination_ms_median").GetDouble() / runs[0].GetProperty("coordination_ms_median").GetDouble(),
            r.GetProperty("coordination_ratio").GetDouble(), 1e-9);
        Assert.Equal(runs[1].GetProperty("coordination_ms_p90").GetDouble() / runs[0].GetProperty("coordination_ms_p90").GetDouble(),
            r.GetProperty("coordination_p90_ratio").GetDouble(), 1e-9);
        Assert.Contains("3 silos up", stderr);
    }

    [Theory]
    [InlineData(new[] { "--silos", "65" }, "--silos wants at most 64")]
    [InlineData(new[] { "--workers", "0" }, "--workers wants a positive integer, got '0'")]
    [InlineData(new[] { "--steps", "3", "--warmup", "3" }, "--warmup wants fewer than --steps (3) steps, got 3")]
    [InlineData(new[] { "--method", "dino" }, "--method wants one of")]
    [InlineData(new[] { "--data", "/nonexistent/fashion" }, "/nonexistent/fashion")]
    public async Task Bad_input_is_named_before_any_silo_starts(string[] flags, string message) =>
        await SsloInProcess.AssertBadInputAsync(["bench", "coordination", .. flags], message);
}
