using SslOrleans.Storage;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>A checkpoint folder holds no symbolic links: one planted there (as latest, a step folder or a file) is refused,
/// never followed, so that a run's location cannot lead outside itself; and a location's real path decides its root.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class CheckpointLinksTests : IDisposable
{
    private readonly string root = Cluster.ClusterTestSupport.TempDir("sslo-links");

    [Fact]
    public async Task Links_in_a_checkpoint_folder_are_refused_and_never_followed()
    {
        var run = Directory.CreateDirectory(Path.Combine(root, "run")).FullName;
        var outside = Directory.CreateDirectory(Path.Combine(root, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "latest"), "step-00000002\n");
        Directory.CreateDirectory(Path.Combine(outside, "step-00000002"));
        File.WriteAllText(Path.Combine(outside, "step-00000002", "manifest.json"), "{}");
        File.WriteAllText(Path.Combine(outside, "secret.bin"), "not a checkpoint");
        var store = new LocalFolderCheckpointStore(run);

        File.CreateSymbolicLink(Path.Combine(run, "latest"), Path.Combine(outside, "latest"));
        var e = await Assert.ThrowsAsync<IOException>(() => store.ReadLatestAsync());
        Assert.Contains("is a symbolic link", e.Message);
        await Assert.ThrowsAsync<IOException>(() => store.MoveLatestAsync(3));
        File.Delete(Path.Combine(run, "latest"));

        Directory.CreateSymbolicLink(Path.Combine(run, "step-00000002"), Path.Combine(outside, "step-00000002"));
        Assert.Empty(await store.ListStepsAsync());
        await Assert.ThrowsAsync<IOException>(() => store.ReadManifestAsync(2));
        await Assert.ThrowsAsync<IOException>(() => store.WriteFileAsync(2, "shard-0.bin", new byte[] { 1 }));
        await Assert.ThrowsAsync<IOException>(() => store.DeleteStepAsync(2));
        Assert.True(File.Exists(Path.Combine(outside, "step-00000002", "manifest.json")));

        Directory.CreateDirectory(Path.Combine(run, "step-00000001"));
        File.CreateSymbolicLink(Path.Combine(run, "step-00000001", "shard-0.bin"), Path.Combine(outside, "secret.bin"));
        await Assert.ThrowsAsync<IOException>(() => store.OpenReadAsync(1, "shard-0.bin"));
        Assert.Equal("not a checkpoint", File.ReadAllText(Path.Combine(outside, "secret.bin")));
    }

    [Fact]
    public void A_location_is_inside_a_root_by_its_real_path_and_blob_prefixes_by_whole_segments()
    {
        var allowed = Directory.CreateDirectory(Path.Combine(root, "allowed")).FullName;
        var outside = Directory.CreateDirectory(Path.Combine(root, "outside")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(allowed, "escape"), outside);
        Directory.CreateSymbolicLink(Path.Combine(outside, "back"), allowed);
        var roots = StorageRoots.Parse([$"{allowed};az://data/public"]);
        string? Problem(string text) => roots.Problem(StorageLocation.Parse(text), "out");

        Assert.Null(Problem(Path.Combine(allowed, "run", "new")));
        Assert.Null(Problem(allowed));
        Assert.Null(Problem(Path.Combine(outside, "back", "run"))); // a link from outside into the root is inside
        Assert.NotNull(Problem(Path.Combine(allowed, "escape", "run")));
        Assert.NotNull(Problem(allowed + "-sibling"));
        Assert.NotNull(Problem(Path.Combine(allowed, "..", "outside")));
        Assert.Null(Problem("az://data/public"));
        Assert.Null(Problem("az://data/public/x/y"));
        Assert.NotNull(Problem("az://data/publicity"));
        Assert.NotNull(Problem("az://data"));
        Assert.NotNull(Problem("az://other/public"));
        Assert.Null(StorageRoots.Anywhere.Problem(StorageLocation.Parse("/etc"), "out"));
        var relative = Assert.Throws<ArgumentException>(() => StorageRoots.Parse(["runs"]));
        Assert.Contains("Storage:AllowedRoots: 'runs' must be an absolute folder", relative.Message);
    }

    public void Dispose() => Directory.Delete(root, recursive: true);
}
