using System.Text;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>What the catalog keeps and deletes, on a local store (the same code serves blob stores).</summary>
public sealed class CheckpointCatalogTests
{
    private static async Task CommitAsync(ICheckpointStore store, long step)
    {
        var file = await store.WriteFileAsync(step, CheckpointNames.Shard(0), Encoding.UTF8.GetBytes($"state of step {step}"));
        await store.CreateManifestAsync(step, Encoding.UTF8.GetBytes(
            $$"""{"step": {{step}}, "run_id": "r", "files": [{"name": "{{file.Name}}", "sha256": "{{file.Sha256}}", "bytes": {{file.Bytes}}}]}"""));
    }

    [Fact]
    public async Task Keep_last_deletes_older_checkpoints_and_dead_leftovers_but_never_what_latest_names()
    {
        var store = new LocalFolderCheckpointStore(Cluster.ClusterTestSupport.TempDir("sslo-prune"));
        var catalog = new CheckpointCatalog(store);
        foreach (var step in new long[] { 10, 20, 30, 40, 50, 60 }) await CommitAsync(store, step);
        await store.WriteFileAsync(15, CheckpointNames.Shard(0), new byte[] { 1 }); // a failed upload, older than latest
        await store.WriteFileAsync(70, CheckpointNames.Shard(0), new byte[] { 2 }); // one still in flight, newer than latest
        await store.MoveLatestAsync(20); // a resumed run pointed latest back at step 20

        var deleted = await catalog.PruneAsync(keepLast: 3);

        Assert.Equal([10L, 15, 30], deleted.Order());
        Assert.Equal([20L, 40, 50, 60, 70], await store.ListStepsAsync());
        Assert.Equal(20, await store.ReadLatestAsync());
        var listed = await catalog.ListAsync();
        Assert.False(listed.Single(e => e.Step == 70).IsComplete);
        Assert.Contains("no manifest.json", listed.Single(e => e.Step == 70).Problem);
        Assert.True(listed.Single(e => e.Step == 20).IsLatest);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => catalog.PruneAsync(0));
    }

    [Fact]
    public async Task A_manifest_that_is_not_json_is_named_and_resume_passes_over_it()
    {
        var store = new LocalFolderCheckpointStore(Cluster.ClusterTestSupport.TempDir("sslo-badmanifest"));
        var catalog = new CheckpointCatalog(store);
        await CommitAsync(store, 10);
        await store.WriteFileAsync(20, CheckpointNames.Shard(0), new byte[] { 3 });
        await store.CreateManifestAsync(20, Encoding.UTF8.GetBytes("{ not json"));
        await store.MoveLatestAsync(20);

        var entry = (await catalog.ListAsync()).Single(e => e.Step == 20);
        Assert.False(entry.IsComplete);
        Assert.Contains("step-00000020/manifest.json: not a checkpoint manifest", entry.Problem);

        var point = await catalog.FindResumableAsync();
        Assert.Equal(10, point!.Summary.Step);
        Assert.Contains(point.Notes, n => n.Contains("not a checkpoint manifest") && n.Contains("skipped and removed"));
        Assert.Equal(10, await store.ReadLatestAsync());
        Assert.Equal([10L], await store.ListStepsAsync());
    }
}
