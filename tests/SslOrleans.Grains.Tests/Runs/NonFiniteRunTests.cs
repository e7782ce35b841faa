using SslOrleans.Abstractions.Runs;
using SslOrleans.Grains.Checkpoints;
using SslOrleans.Grains.Shards;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Tests.Runs;

/// <summary>
/// A run whose learning rate blows the model up: the step whose loss or mean gradient is NaN or infinite is refused
/// before any shard applies it, the run checkpoints the last good state and ends Failed, naming the step.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class NonFiniteRunTests(ClusterFixture fixture)
{
    private IGrainFactory Grains => fixture.Cluster.Client;

    /// <summary>SGD at lr 1e30: step 0 is finite and applied (the parameters become ~1e29), step 1's forward pass
    /// overflows. Found to fail at step 1 with both CPU kernel families (AVX-512 and ATEN_CPU_CAPABILITY=avx2).</summary>
    private static RunSpec Exploding(string name) => RunHarness.Tiny(name, workers: 2, steps: 8) with
    {
        Optimizer = "sgd", Lr = 1e30, CheckpointMinutes = 0,
    };

    [Fact]
    public async Task A_NaN_step_is_refused_whole_and_the_run_ends_failed_with_the_last_good_state_checkpointed()
    {
        var spec = Exploding("nan");
        var status = await RunHarness.RunToEndAsync(Grains, spec);
        Assert.Equal(RunState.Failed, status.State);
        Assert.Null(status.Result);
        var error = status.Error!;
        Assert.StartsWith("step 1: ", error);
        Assert.Contains("nothing was applied", error);
        Assert.Contains("lower the learning rate (lr)", error);
        Assert.Equal(1, status.Step);
        Assert.Equal(1L, Assert.Single(await Grains.GetGrain<IRunGrain>(spec.RunId).GetProgressAsync(0)).Step);

        // 'latest' names the checkpoint of the refused step's start, the error names it, it verifies, every value is finite.
        var (manifestPath, problems) = await RunHarness.VerifyLatestAsync(spec.Out);
        Assert.Empty(problems);
        Assert.Contains(manifestPath, error);
        var store = new LocalFolderCheckpointStore(spec.Out);
        var manifest = (await store.ReadLatestManifestAsync())!;
        Assert.Equal(1, manifest.Step);
        var shards = await ShardFilesAsync(spec.Out, manifest.Step, manifest.Shards.Length);
        for (int k = 0; k < shards.Length; k++)
        {
            var shard = ShardFile.Parse(shards[k], $"shard {k}");
            Assert.Equal(1, shard.Version);
            foreach (var (part, values) in new[] { ("parameters", shard.Parameters), ("momentum", shard.Momentum), ("variance", shard.Variance), ("target", shard.Target), ("buffers", shard.Buffers) })
                Assert.True(values.All(float.IsFinite), $"shard {k}: its {part} hold {values.FirstOrDefault(v => !float.IsFinite(v))}");
        }

        // Nothing of step 1 was applied, not even to the momentum or the target: the shards are those of the same run
        // stopped after step 0, to the byte.
        var stopped = Exploding("stopped") with { StopAfter = 1 };
        var stoppedStatus = await RunHarness.RunToEndAsync(Grains, stopped);
        Assert.True(stoppedStatus.State == RunState.Stopped, stoppedStatus.Error);
        var stoppedShards = await ShardFilesAsync(stopped.Out, 1, manifest.Shards.Length);
        for (int k = 0; k < shards.Length; k++)
            Assert.True(shards[k].AsSpan().SequenceEqual(stoppedShards[k]), $"shard {k} differs from the run stopped before the refused step");

        // The checkpoint resumes: the shards load it, and (resume keeps the saved lr) the same step is refused again,
        // without a step of its own being trained from scratch.
        var resumed = await RunHarness.RunToEndAsync(Grains, spec with { Resume = true });
        Assert.Equal(RunState.Failed, resumed.State);
        Assert.StartsWith("step 1: ", resumed.Error);
        Assert.Contains("nothing was applied", resumed.Error);
        Assert.Empty(await Grains.GetGrain<IRunGrain>(spec.RunId).GetProgressAsync(0));
        var again = await RunHarness.VerifyLatestAsync(spec.Out);
        Assert.Empty(again.Problems);
        Assert.Equal(1, (await store.ReadLatestManifestAsync())!.Step);
        var after = await ShardFilesAsync(spec.Out, 1, manifest.Shards.Length);
        for (int k = 0; k < shards.Length; k++) Assert.True(shards[k].AsSpan().SequenceEqual(after[k]), $"shard {k} changed on resume");
    }

    private static async Task<byte[][]> ShardFilesAsync(string runFolder, long step, int count)
    {
        var store = new LocalFolderCheckpointStore(runFolder);
        var files = new byte[count][];
        for (int k = 0; k < count; k++)
        {
            await using var stream = await store.OpenReadAsync(step, CheckpointNames.Shard(k));
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer);
            files[k] = buffer.ToArray();
        }
        return files;
    }
}
