using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Grains.Tests.Runs;

namespace SslOrleans.Grains.Tests.Elastic;

/// <summary>
/// A run scaled by the operator (<see cref="TrainingClient.ScaleAsync"/>) while it trains, on real silos with one CPU
/// slot each: the global batch stays, so the model must be the one of an undisturbed run to the bit, with every
/// micro-batch of every step applied exactly once.
/// </summary>
[Trait("Category", ElasticCluster.Category)]
public sealed class ScaleRunTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long Steps = 40;

    /// <summary>Four micro-batches a step (batch 32, micro-batch 8), so workers may be 1 to 4.</summary>
    private static RunSpec Spec(string name) => RunHarness.Tiny(name, workers: 1, steps: Steps) with
    {
        ParameterShards = 1, DataShards = 2, CheckpointMinutes = 0,
    };

    [Fact]
    public async Task A_run_scaled_from_one_worker_to_three_and_back_to_two_trains_the_undisturbed_model()
    {
        await using var cluster = await ElasticCluster.StartAsync(slotSilos: 3);
        var client = new TrainingClient(cluster.Client);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var referenceSpec = Spec("undisturbed");
        var reference = await RunHarness.RunToEndAsync(cluster.Client, referenceSpec);
        Assert.True(reference.State == RunState.Completed, reference.Error);
        Assert.Equal((1, 1), (reference.Result!.Workers, reference.Result.WorkersMax));
        var referenceParameters = await RunHarness.LatestParametersAsync(referenceSpec.Out);
        output.WriteLine($"undisturbed run: {clock.Elapsed.TotalSeconds:F1} s for {Steps} steps");

        var spec = Spec("scaled");
        await client.SubmitAsync(spec);
        await cluster.WaitForStepAsync(spec.RunId, 3, TimeSpan.FromMinutes(2));
        var up = await client.ScaleAsync(spec.RunId, 3);
        Assert.Equal((RunState.Running, 1), (up.State, up.Workers));
        output.WriteLine($"scaled to 3 at step {up.Step}");
        var three = await WorkersAsync(client, spec.RunId, 3);
        output.WriteLine($"3 workers at step {three.Step}");

        // Out of range: no micro-batch for a fifth worker (batch / micro_batch = 4), and none at all with 0.
        var zero = await Assert.ThrowsAsync<ArgumentException>(() => client.ScaleAsync(spec.RunId, 0));
        Assert.Contains("workers", zero.Message);
        var five = await Assert.ThrowsAsync<ArgumentException>(() => client.ScaleAsync(spec.RunId, 5));
        Assert.Contains("workers", five.Message);
        Assert.Contains("batch / micro_batch = 4", five.Message);

        await cluster.WaitForStepAsync(spec.RunId, Math.Max(10, three.Step + 1), TimeSpan.FromMinutes(2));
        var down = await client.ScaleAsync(spec.RunId, 2);
        output.WriteLine($"scaled to 2 at step {down.Step}");
        var two = await WorkersAsync(client, spec.RunId, 2);
        output.WriteLine($"2 workers at step {two.Step}");

        RunStatus end;
        while (!(end = await client.GetStatusAsync(spec.RunId)).IsFinished) await Task.Delay(100);
        Assert.True(end.State == RunState.Completed, end.Error);
        var r = end.Result!;
        Assert.Equal((3, 2), (r.WorkersMax, r.Workers));
        Assert.Equal((Steps * 4, 0L, 0L, 0L, 0L), (r.MicrobatchesCommitted, r.MicrobatchesRedone, r.SamplesLost, r.SamplesDoubled, r.StepsRedone));
        Assert.Contains(r.Warnings!, w => w.Contains("joined"));
        Assert.Contains(r.Warnings!, w => w.Contains("let go (scaled to 2)"));
        // The steps' own record: one worker, then up to three (the two new ones may join at different boundaries), then two.
        var progress = await cluster.Client.GetGrain<IRunGrain>(spec.RunId).GetProgressAsync(0);
        Assert.Equal(Steps, progress.Count);
        var counts = progress.Select(p => p.Workers).Aggregate(new List<int>(), (l, w) => { if (l.Count == 0 || l[^1] != w) l.Add(w); return l; });
        Assert.True(counts[0] == 1 && counts[^1] == 2 && counts.IndexOf(3) > 0 && counts.Skip(counts.IndexOf(3) + 1).SequenceEqual([2]),
            $"workers by step: {string.Join(" ", progress.Select(p => p.Workers))}");

        var parameters = await RunHarness.LatestParametersAsync(spec.Out);
        Assert.True(referenceParameters.AsSpan().SequenceEqual(parameters), $"relative difference {RunHarness.RelativeDifference(referenceParameters, parameters)}");
        Assert.Equal(reference.Result.ParamL2, r.ParamL2);

        // A finished run scales no more.
        var finished = await Assert.ThrowsAsync<InvalidOperationException>(() => client.ScaleAsync(spec.RunId, 2));
        Assert.Contains("completed", finished.Message);
    }

    /// <summary>Waits until the run has <paramref name="workers"/> workers; fails if it ends first.</summary>
    private static async Task<RunStatus> WorkersAsync(TrainingClient client, string runId, int workers)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var status = await client.GetStatusAsync(runId);
            if (status.Workers == workers) return status;
            Assert.False(status.IsFinished, $"the run ended ({status.State}: {status.Error}) at step {status.Step} with {status.Workers} workers, before it had {workers}");
            Assert.True(DateTime.UtcNow < deadline, $"the run has {status.Workers} workers at step {status.Step}, not {workers}, after two minutes");
            await Task.Delay(50);
        }
    }
}
