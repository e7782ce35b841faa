using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Grains.Tests.Runs;

namespace SslOrleans.Grains.Tests.Operations;

/// <summary>The long phases after training push how far they have come to a watcher: the final checkpoint's files and
/// evaluation's images, each up to its total.</summary>
[Trait("Category", TwoSiloCluster.Category)]
public sealed class PhaseProgressTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    [Fact]
    public async Task Evaluation_and_the_final_checkpoint_report_their_progress_to_a_watcher()
    {
        // 320 training and 100 test images: each kNN extracts 420 images.
        var spec = RunHarness.Tiny("phase-progress", workers: 2, steps: 3) with
        {
            Data = RunHarness.SubsetFolder(320), ParameterShards = 2, DataShards = 2, CheckpointMinutes = 0, Evaluate = true,
        };
        var client = new TrainingClient(cluster.Grains);
        await client.SubmitAsync(spec);
        var reports = new List<PhaseProgress>();
        RunStatus? final = null;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await foreach (var update in client.WatchAsync(spec.RunId, cancellation: cancel.Token))
        {
            if (update.Status.Progress is { } g) reports.Add(g);
            if (update.Status.IsFinished) final = update.Status;
        }
        Assert.True(final is { State: RunState.Completed }, $"{final?.State}: {final?.Error}");

        foreach (var phase in new[] { "kNN of the pretrained backbone", "kNN of the initial backbone" })
        {
            var mine = reports.Where(r => r.Phase == phase).ToList();
            Assert.True(mine.Count > 0, $"no progress of '{phase}' among {string.Join("; ", reports)}");
            Assert.All(mine, r => Assert.Equal((420L, "images"), (r.Total, r.Unit)));
            // One block of each split (320 training, 100 test images), taken by the two workers from one queue: the
            // first to finish is reported with the time left at that rate, then the whole.
            Assert.Contains(mine, r => r.Done is 320 or 100 && r.EtaSeconds > 0);
            Assert.Equal(420, mine[^1].Done);
            Assert.Equal(0, mine[^1].EtaSeconds);
            Assert.True(mine.Select(r => r.Done).SequenceEqual(mine.Select(r => r.Done).Order()), "done went backwards");
        }
        // Two shard files, the backbone and the online probe.
        var files = reports.Where(r => r.Phase == "checkpointing").ToList();
        Assert.True(files.Count > 0, $"no progress of the final checkpoint among {string.Join("; ", reports)}");
        Assert.Equal((4L, 4L, "files"), (files[^1].Done, files[^1].Total, files[^1].Unit));
    }
}
