using SslOrleans.Abstractions.Runs;
using SslOrleans.Grains.Tests.Runs;

namespace SslOrleans.Grains.Tests.Elastic;

/// <summary>
/// Runs that lose and gain workers while they train, on real silos: the result must be the model of an undisturbed
/// run to the bit (float64 sums are exact and every worker runs one libtorch thread), with every micro-batch of every
/// step applied exactly once.
/// </summary>
[Trait("Category", ElasticCluster.Category)]
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

        var end = await cluster.WaitForEndAsync(spec.RunId, TimeSpan.FromMinutes(4));
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
        while ((status = await client.GetStatusAsync(spec.RunId)).Workers < 3)
        {
            Assert.False(status.IsFinished, $"the run ended before the third worker joined: {status.State} {status.Error}");
            Assert.True(DateTime.UtcNow < deadline, "the third worker did not join within two minutes");
            await Task.Delay(100);
        }
        long joinedAt = status.Step;
        var (leaving, _) = await cluster.WorkerOnlySiloAsync(spec, 3);
        await cluster.Cluster.StopSiloAsync(leaving); // graceful: the silo leaves the membership
        var end = await cluster.WaitForEndAsync(spec.RunId, TimeSpan.FromMinutes(4));
        Assert.True(end.State == RunState.Completed, end.Error);
        Assert.True(joinedAt < 30, $"the worker joined at step {joinedAt}, after the run");
        Assert.Equal((3, 2), (end.Result!.WorkersMax, end.Result.Workers));
        Assert.Contains(end.Result.Warnings!, w => w.Contains("joined"));
        Assert.Equal((30L * 4, 0L, 0L), (end.Result.MicrobatchesCommitted, end.Result.SamplesLost, end.Result.SamplesDoubled));
        AssertSameModel(reference, end, await RunHarness.LatestParametersAsync(spec.Out));
    }
}

/// <summary>Parameter shards lost with their silo: rebuilt from the mirror another silo holds (nothing redone), or,
/// with the mirror lost too, the run goes back to its checkpoint; the model is the undisturbed one either way.</summary>
[Trait("Category", ElasticCluster.Category)]
public sealed class ShardLossTests
{
    /// <summary>Three shards over four silos: at least two shards live off the primary silo, so one of them is
    /// always on a silo that does not host the run grain.</summary>
    private static RunSpec Spec(string name, long steps) => RunHarness.Tiny(name, 3, steps) with
    {
        ParameterShards = 3, DataShards = 2, CheckpointMinutes = 0,
    };

    /// <summary>Kills <paramref name="victims"/> while a worker on the first of them is held in its step (if one is).</summary>
    private static async Task KillMidStepAsync(ElasticCluster cluster, RunSpec spec, Dictionary<SiloAddress, List<string>> roles, params SiloAddress[] victims)
    {
        var worker = roles[victims[0]].FirstOrDefault(r => r.StartsWith("worker ", StringComparison.Ordinal));
        if (worker is not null) await ElasticCluster.Gate.Arm($"{spec.RunId}/{worker["worker ".Length..]}").WaitAsync(TimeSpan.FromMinutes(1));
        await Task.WhenAll(victims.Select(v => cluster.Cluster.KillSiloAsync(cluster.Silo(v))));
    }

    [Fact]
    public async Task A_shard_silo_killed_mid_step_is_rebuilt_from_its_mirror_without_redoing_a_step()
    {
        await using var cluster = await ElasticCluster.StartAsync(slotSilos: 3);
        var undisturbed = Spec("undisturbed", 24);
        var reference = await RunHarness.RunToEndAsync(cluster.Client, undisturbed);
        Assert.True(reference.State == RunState.Completed, reference.Error);

        var spec = Spec("lost-shard", 24);
        await new Client.TrainingClient(cluster.Client).SubmitAsync(spec);
        await cluster.WaitForStepAsync(spec.RunId, 4, TimeSpan.FromMinutes(2));
        var roles = await cluster.RolesAsync(spec, 3);
        var victim = roles.Where(r => !r.Key.Equals(cluster.Cluster.Primary!.SiloAddress) && !r.Value.Contains("run") && r.Value.Any(x => x.StartsWith("shard ", StringComparison.Ordinal)))
            .Select(r => r.Key).First();
        await KillMidStepAsync(cluster, spec, roles, victim);

        var end = await cluster.WaitForEndAsync(spec.RunId, TimeSpan.FromMinutes(4));
        Assert.True(end.State == RunState.Completed, end.Error);
        var r = end.Result!;
        Assert.Contains(r.Warnings!, w => w.Contains("rebuilt from its mirror"));
        Assert.Equal((24L * 4, 0L, 0L, 0L), (r.MicrobatchesCommitted, r.SamplesLost, r.SamplesDoubled, r.StepsRedone));
        var expected = await RunHarness.LatestParametersAsync(undisturbed.Out);
        var actual = await RunHarness.LatestParametersAsync(spec.Out);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"relative difference {RunHarness.RelativeDifference(expected, actual)}");
        Assert.Equal(reference.Result!.ParamL2, r.ParamL2);
    }

    [Fact]
    public async Task A_shard_lost_with_its_mirror_sends_the_run_back_to_its_checkpoint_and_the_redone_steps_give_the_same_model()
    {
        await using var cluster = await ElasticCluster.StartAsync(slotSilos: 4);
        var undisturbed = Spec("undisturbed", 24);
        var reference = await RunHarness.RunToEndAsync(cluster.Client, undisturbed);
        Assert.True(reference.State == RunState.Completed, reference.Error);

        var spec = Spec("lost-mirror", 24) with { CheckpointEvery = 4 };
        // Shard k goes to silo k in address order and its mirror to the next one: with the run grain on the last silo
        // that is not the primary, some shard and its mirror both live off the primary and off the run grain's silo.
        var primary = cluster.Cluster.Primary!.SiloAddress;
        var runHost = cluster.Cluster.Silos.Select(h => h.SiloAddress).Where(a => !a.Equals(primary))
            .OrderBy(a => a.ToString(), StringComparer.Ordinal).Last();
        await Grains.Placement.PlacementHint.On(runHost, () => new Client.TrainingClient(cluster.Client).SubmitAsync(spec));
        // Past the checkpoint of step 12 and before the next (16): the loss falls in step 13 or 14, so going back redoes steps.
        await cluster.WaitForStepAsync(spec.RunId, 13, TimeSpan.FromMinutes(2));
        var roles = await cluster.RolesAsync(spec, 3);
        SiloAddress? Host(string role) => roles.FirstOrDefault(r => r.Value.Contains(role)).Key;
        var pair = Enumerable.Range(0, spec.ParameterShards).Select(k => (Shard: Host($"shard {k}"), Mirror: Host($"mirror {k}")))
            .FirstOrDefault(p => p.Shard is not null && p.Mirror is not null && !p.Shard.Equals(p.Mirror)
                && new[] { p.Shard, p.Mirror }.All(s => !s.Equals(primary) && !roles[s].Contains("run")));
        Assert.True(pair.Shard is not null, $"no shard and mirror both off the primary and the run grain's silo: {string.Join("; ", roles.Select(r => $"{r.Key}: {string.Join(", ", r.Value)}"))}");
        await KillMidStepAsync(cluster, spec, roles, pair.Shard!, pair.Mirror!);

        var end = await cluster.WaitForEndAsync(spec.RunId, TimeSpan.FromMinutes(4));
        Assert.True(end.State == RunState.Completed, end.Error);
        var r = end.Result!;
        Assert.Contains(r.Warnings!, w => w.Contains("went back to the checkpoint"));
        Assert.True(r.StepsRedone > 0, "no step was redone");
        Assert.Equal((0L, 0L), (r.SamplesLost, r.SamplesDoubled));
        var expected = await RunHarness.LatestParametersAsync(undisturbed.Out);
        var actual = await RunHarness.LatestParametersAsync(spec.Out);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"relative difference {RunHarness.RelativeDifference(expected, actual)}");
        Assert.Equal(reference.Result!.ParamL2, r.ParamL2);
    }
}

/// <summary>The coordinator's silo lost: the run grain's record is in grain storage (Azurite), the silos wake the run
/// when membership declares the silo dead, and a new coordinator on a survivor goes on with what survived.</summary>
[Trait("Category", ElasticCluster.Category)]
public sealed class CoordinatorLossTests
{
    [Fact]
    public async Task The_run_grains_silo_killed_mid_step_the_run_goes_on_by_itself_and_ends_with_the_undisturbed_model()
    {
        await using var cluster = await ElasticCluster.StartAsync(slotSilos: 3);
        var undisturbed = RunHarness.Tiny("undisturbed", 2, 24) with { ParameterShards = 2, DataShards = 2, CheckpointMinutes = 0 };
        var reference = await RunHarness.RunToEndAsync(cluster.Client, undisturbed);
        Assert.True(reference.State == RunState.Completed, reference.Error);

        // The run grain goes where the test says, off the primary silo (which holds the test cluster's membership).
        var host = cluster.Cluster.SecondarySilos[^1];
        var spec = undisturbed with { RunId = "coordinator-" + Guid.NewGuid().ToString("N")[..12], Out = undisturbed.Out + "-lost" };
        var client = new Client.TrainingClient(cluster.Client);
        await Grains.Placement.PlacementHint.On(host.SiloAddress, () => client.SubmitAsync(spec));
        await cluster.WaitForStepAsync(spec.RunId, 4, TimeSpan.FromMinutes(2));
        Assert.Equal(host.SiloAddress, await cluster.HostOfAsync(cluster.Client.GetGrain<IRunGrain>(spec.RunId)));
        var roles = await cluster.RolesAsync(spec, 2);
        var worker = roles.TryGetValue(host.SiloAddress, out var here) ? here.FirstOrDefault(r => r.StartsWith("worker ", StringComparison.Ordinal)) : null;
        if (worker is not null) await ElasticCluster.Gate.Arm($"{spec.RunId}/{worker["worker ".Length..]}").WaitAsync(TimeSpan.FromMinutes(1));
        var killedAt = (await client.GetStatusAsync(spec.RunId)).Step;
        await cluster.Cluster.KillSiloAsync(host);

        // Nobody calls the run: the silos wake it once membership declares the silo dead. Then the client watches it.
        await Task.Delay(TimeSpan.FromSeconds(15));
        var end = await cluster.WaitForEndAsync(spec.RunId, TimeSpan.FromMinutes(4));
        Assert.True(end.State == RunState.Completed, end.Error);
        var r = end.Result!;
        Assert.Contains(r.Warnings!, w => w.Contains("took the run over"));
        Assert.Equal((24L, 0L, 0L), (r.Steps, r.SamplesLost, r.SamplesDoubled));
        var expected = await RunHarness.LatestParametersAsync(undisturbed.Out);
        var actual = await RunHarness.LatestParametersAsync(spec.Out);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"relative difference {RunHarness.RelativeDifference(expected, actual)} (killed at step {killedAt})");
        Assert.Equal(reference.Result!.ParamL2, r.ParamL2);
    }
}

/// <summary>The sample ledger through failures: on a 320-sample subset of Fashion-MNIST (ten steps an epoch), three
/// epochs while three workers are lost mid-step; every epoch's samples are applied exactly once.</summary>
[Trait("Category", ElasticCluster.Category)]
public sealed class LedgerThroughFailuresTests
{
    private const int Samples = 320;


    [Fact]
    public async Task Three_epochs_under_three_worker_losses_apply_every_sample_of_every_epoch_exactly_once()
    {
        await using var cluster = await ElasticCluster.StartAsync(slotSilos: 3);
        var spec = RunHarness.Tiny("ledger", workers: 2, steps: 30) with
        {
            Data = RunHarness.SubsetFolder(Samples), ParameterShards = 1, DataShards = 2, CheckpointMinutes = 0,
        };
        var client = new Client.TrainingClient(cluster.Client);
        await client.SubmitAsync(spec);
        foreach (long at in new long[] { 3, 11, 19 })
        {
            await cluster.WaitForStepAsync(spec.RunId, at, TimeSpan.FromMinutes(2));
            var (victim, worker) = await cluster.WorkerOnlySiloAsync(spec, 12);
            await ElasticCluster.Gate.Arm($"{spec.RunId}/{worker}").WaitAsync(TimeSpan.FromMinutes(1));
            await cluster.Cluster.KillSiloAsync(victim);
            await cluster.Cluster.StartAdditionalSiloAsync(); // a replacement: the run goes back to two workers
        }
        var end = await cluster.WaitForEndAsync(spec.RunId, TimeSpan.FromMinutes(4));
        Assert.True(end.State == RunState.Completed, end.Error);
        var r = end.Result!;
        Assert.Equal(3.0, r.Epochs); // 30 steps × 32 samples over 320
        Assert.Equal(3, r.Warnings!.Count(w => w.Contains(" lost (")));
        Assert.True(r.MicrobatchesRedone >= 3, $"{r.MicrobatchesRedone} micro-batches redone for three lost workers");
        // Stream positions [0, 960) each applied once: each epoch's permutation of the 320 samples, each sample once.
        Assert.Equal((30L * 4, 0L, 0L), (r.MicrobatchesCommitted, r.SamplesLost, r.SamplesDoubled));
        var ledger = end.Ledger!;
        Assert.Equal(ledger.MicrobatchesAssigned, ledger.MicrobatchesCommitted);
        var stream = new Core.Data.SampleStream(Samples, (int)spec.Seed);
        for (int epoch = 0; epoch < 3; epoch++)
            Assert.Equal(Enumerable.Range(0, Samples), stream.Take((long)epoch * Samples, Samples).Order());
    }
}
