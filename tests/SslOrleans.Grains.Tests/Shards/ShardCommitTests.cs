using System.Runtime.InteropServices;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Grains.Runs;

namespace SslOrleans.Grains.Tests.Shards;

/// <summary>
/// A shard applies a step when every range of it arrived whole and each worker vouched for its own (StepCommit),
/// exactly as the coordinator's Prepare and Apply would: same bits, and never before the last word.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ShardCommitTests(ClusterFixture fixture)
{
    private const int Values = 1000, MicroBatches = 4;
    private static readonly MicroBatchRange First = new(0, 1), Rest = new(1, 3);
    private static readonly ApplyRequest Apply = new(0, MicroBatches, 0.5, 0.99, 0.1);

    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task The_last_commit_applies_the_step_to_the_bits_of_the_coordinator_s_apply()
    {
        var committed = await ShardAsync("committed");
        await PushBothAsync(committed);
        Assert.Null(await committed.CommitAsync(new StepCommit(Apply, Rest, LossSum: 6.5)));
        Assert.Equal(0, (await committed.GetReceivedAsync(0)).Version); // one range unvouched: nothing applied yet
        var result = await committed.CommitAsync(new StepCommit(Apply, First, LossSum: 1.5));
        Assert.NotNull(result);
        Assert.Equal(1, result.Version);
        Assert.Equal([First, Rest], result.Summed);
        // The step's loss stays with the shard for a coordinator that takes over: (1.5 + 6.5) / 4 micro-batches.
        Assert.Equal(2.0, (await committed.GetHealthAsync()).LastStepLoss);
        // A late word for the step (redone work) changes nothing.
        Assert.Null(await committed.CommitAsync(new StepCommit(Apply, First)));

        var applied = await ShardAsync("applied");
        await PushBothAsync(applied);
        await applied.ApplyAsync(Apply);

        var a = await committed.PullAsync(0, Values);
        var b = await applied.PullAsync(0, Values);
        Assert.Equal(1, a.Version);
        Assert.Equal(b.Data, a.Data);
        Assert.NotEqual(Initial(), MemoryMarshal.Cast<byte, float>(a.Data).ToArray()); // the step did change the parameters
    }

    [Fact]
    public async Task Without_every_word_the_shard_waits_and_the_coordinator_can_still_apply()
    {
        // A worker lost after its push, before its commit: its range is held but unvouched.
        var shard = await ShardAsync("unvouched");
        await PushBothAsync(shard);
        Assert.Null(await shard.CommitAsync(new StepCommit(Apply, First)));
        Assert.Equal(0, (await shard.GetHealthAsync()).Version);
        var result = await shard.ApplyAsync(Apply);
        Assert.Equal(1, result.Version);
        Assert.Null((await shard.GetHealthAsync()).LastStepLoss); // applied by the coordinator, which knows the loss itself
    }

    [Fact]
    public async Task A_word_for_a_range_that_did_not_arrive_whole_is_refused_naming_it()
    {
        var shard = await ShardAsync("early");
        await shard.PushAsync(Contribution(First, 1.0));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => shard.CommitAsync(new StepCommit(Apply, Rest)));
        Assert.Contains("[1, 4)", error.Message);
        Assert.Contains("before they arrived whole", error.Message);
        // Nor is a word for another step taken.
        var later = await Assert.ThrowsAnyAsync<Exception>(() => shard.CommitAsync(new StepCommit(Apply with { Step = 3 }, First)));
        Assert.Contains("at version 0", later.Message);
    }

    private async Task<IParameterShardGrain> ShardAsync(string name)
    {
        var spec = RunPlan.WithMethodDefaults(new RunSpec { RunId = $"commit-{name}-{Guid.NewGuid():N}"[..30], Method = "byol", MirrorShards = false });
        var shard = Grains.GetGrain<IParameterShardGrain>($"{spec.RunId}/0");
        var range = new ShardRange(0, 0, Values, 0, 0, 0);
        await shard.ConfigureAsync(new ShardConfig(range, [new TensorInfo("w", 0, Values, false, false, false)], spec));
        await shard.InitializeAsync(new ShardChunk(0, -1, 0, Values, MemoryMarshal.AsBytes(Initial().AsSpan()).ToArray()));
        return shard;
    }

    private static float[] Initial() => Enumerable.Range(0, Values).Select(i => MathF.Sin(i) + 0.1f).ToArray();

    private static async Task PushBothAsync(IParameterShardGrain shard)
    {
        await shard.PushAsync(Contribution(First, 1.0));
        await shard.PushAsync(Contribution(Rest, -0.25));
    }

    /// <summary>A float64 gradient sum over <paramref name="range"/>, as a worker pushes it.</summary>
    private static ShardChunk Contribution(MicroBatchRange range, double scale)
    {
        var values = Enumerable.Range(0, Values).Select(i => scale * Math.Cos(i * 0.37) * range.Count).ToArray();
        return new ShardChunk(0, range.First, 0, Values, MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), range.Count);
    }
}
