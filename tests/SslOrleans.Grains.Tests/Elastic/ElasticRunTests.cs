using SslOrleans.Abstractions.Runs;
using SslOrleans.Grains.Tests.Runs;

namespace SslOrleans.Grains.Tests.Elastic;

/// <summary>
/// Runs that lose and gain workers while they train, on real silos: the result must be the model of an undisturbed
/// run to the bit (float64 sums are exact and every worker runs one libtorch thread), with every micro-batch of every
/// step applied exactly once.
/// </summary>
public sealed class ElasticRunTests
{
    /// <summary>Four micro-batches a step; one parameter shard, so that of three worker silos at least one hosts
    /// neither the shard nor the run grain and can be lost alone.</summary>
    private static RunSpec Spec(string name, int workers, long steps) => RunHarness.Tiny(name, workers, steps) with
    {
        ParameterShards = 1, DataShards = 2, CheckpointMinutes = 0,
    };

    private static async Task<(double ParamL2, float[] Parameters)> UndisturbedAsync(IGrainFactory grains, RunSpec spec)
    {
        var status = await RunHarness.RunToEndAsync(grains, spec);
        Assert.True(status.State == RunState.Completed, status.Error);
        Assert.Equal(0, status.Result!.MicrobatchesRedone);
        return (status.Result.ParamL2, await RunHarness.LatestParametersAsync(spec.Out));
    }

    private static async Task<RunStatus> EndAsync(IGrainFactory grains, string runId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = await grains.GetGrain<IRunGrain>(runId).GetStatusAsync();
            if (status.IsFinished) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {runId} is at step {status.Step} ({status.Phase}) after {timeout}");
            await Task.Delay(100);
        }
    }

    private static void AssertSameModel((double ParamL2, float[] Parameters) expected, RunStatus run, float[] parameters)
    {
        Assert.True(expected.Parameters.AsSpan().SequenceEqual(parameters), $"relative difference {RunHarness.RelativeDifference(expected.Parameters, parameters)}");
        Assert.Equal(expected.ParamL2, run.Result!.ParamL2);
    }

    [Fact]
    public async Task A_worker_silo_killed_mid_run_has_its_micro_batches_redone_in_the_same_step_and_the_model_is_the_undisturbed_one()
    {
        await using var cluster = await ElasticCluster.StartAsync(slotSilos: 3);
        var reference = await UndisturbedAsync(cluster.Client, Spec("undisturbed", workers: 3, steps: 24));

        var spec = Spec("killed-worker", workers: 3, steps: 24);
        await new Client.TrainingClient(cluster.Client).SubmitAsync(spec);
        await cluster.WaitForStepAsync(spec.RunId, 4, TimeSpan.FromMinutes(2));
        var (victim, worker) = await cluster.WorkerOnlySiloAsync(spec, 3);
        // The worker's next step is held on its silo, which is then killed: the step is in flight for certain.
        long heldStep = await ElasticCluster.Gate.Arm($"{spec.RunId}/{worker}").WaitAsync(TimeSpan.FromMinutes(1));
        await cluster.Cluster.KillSiloAsync(victim);

        var end = await EndAsync(cluster.Client, spec.RunId, TimeSpan.FromMinutes(4));
        Assert.True(end.State == RunState.Completed, end.Error);
        var r = end.Result!;
        Assert.Equal(24, r.Steps);
        // No silo with a free slot was left: the run finished with the two survivors.
        Assert.Equal(2, r.Workers);
        Assert.Equal(3, r.WorkersMax);
        Assert.Contains(r.Warnings!, w => w.Contains("lost"));
        Assert.True(r.MicrobatchesRedone > 0, $"the worker was lost in step {heldStep}, but no micro-batch was redone");
        Assert.Equal((24L * 4, 0L, 0L, 0L), (r.MicrobatchesCommitted, r.SamplesLost, r.SamplesDoubled, r.StepsRedone));
        AssertSameModel(reference, end, await RunHarness.LatestParametersAsync(spec.Out));
    }

    [Fact]
    public async Task A_worker_that_joins_at_step_k_and_one_that_leaves_at_step_j_leave_the_model_unchanged()
    {
        await using var cluster = await ElasticCluster.StartAsync(slotSilos: 2);
        var reference = await UndisturbedAsync(cluster.Client, Spec("undisturbed", workers: 2, steps: 30));

        var spec = Spec("join-leave", workers: 2, steps: 30) with { MaxWorkers = 3 };
        var client = new Client.TrainingClient(cluster.Client);
        await client.SubmitAsync(spec);
        await cluster.WaitForStepAsync(spec.RunId, 3, TimeSpan.FromMinutes(2));
        await cluster.Cluster.StartAdditionalSiloAsync();
        // The new silo's slot is taken at a step boundary once its worker has initialised.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        RunStatus status;
        while ((status = await cluster.Client.GetGrain<IRunGrain>(spec.RunId).GetStatusAsync()).Workers < 3)
        {
            Assert.False(status.IsFinished, $"the run ended before the third worker joined: {status.State} {status.Error}");
            Assert.True(DateTime.UtcNow < deadline, "the third worker did not join within two minutes");
            await Task.Delay(100);
        }
        long joinedAt = status.Step;
        var (leaving, _) = await cluster.WorkerOnlySiloAsync(spec, 3);
        await cluster.Cluster.StopSiloAsync(leaving); // graceful: the silo leaves the membership
        var end = await EndAsync(cluster.Client, spec.RunId, TimeSpan.FromMinutes(4));
        Assert.True(end.State == RunState.Completed, end.Error);
        Assert.True(joinedAt < 30, $"the worker joined at step {joinedAt}, after the run");
        Assert.Equal((3, 2), (end.Result!.WorkersMax, end.Result.Workers));
        Assert.Contains(end.Result.Warnings!, w => w.Contains("joined"));
        Assert.Equal((30L * 4, 0L, 0L), (end.Result.MicrobatchesCommitted, end.Result.SamplesLost, end.Result.SamplesDoubled));
        AssertSameModel(reference, end, await RunHarness.LatestParametersAsync(spec.Out));
    }
}
