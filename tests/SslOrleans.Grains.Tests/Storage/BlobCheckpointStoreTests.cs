using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs.Specialized;
using SslOrleans.Storage;
using SslOrleans.Storage.Blobs;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>The blob checkpoint store against a real Azurite: round trips, staged blocks, and commits two writers race for.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
[Collection(AzuriteBlobCollection.Name)]
public sealed class BlobCheckpointStoreTests(AzuriteBlobFixture azurite)
{
    private static string Unique(string name) => $"az://ckpt/{name}-{Guid.NewGuid():N}";

    private ICheckpointStore Open(string location, StorageOptions? options = null) =>
        new CheckpointStoreFactory(options ?? azurite.Options).Open(location);

    /// <summary>Options that send anything above 1 KiB as staged 512-byte blocks: every manifest takes the block path.</summary>
    private StorageOptions Staged => azurite.Options with { SingleShotBytes = 1024, BlockBytes = 512 };

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> ReadAllAsync(ICheckpointStore store, long step, string name)
    {
        await using var stream = await store.OpenReadAsync(step, name);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Every_file_of_a_checkpoint_round_trips_with_its_sha256()
    {
        var store = Open(Unique("roundtrip"));
        var files = new Dictionary<string, byte[]>
        {
            [CheckpointNames.Shard(0)] = Pattern(3 << 20, 1),
            [CheckpointNames.Shard(1)] = Pattern(20 << 20, 2), // above the 8 MiB single-shot limit: staged blocks
            [CheckpointNames.Backbone] = Pattern(70_001, 3),
            [CheckpointNames.OnlineProbe] = Pattern(1234, 4),
        };
        foreach (var (name, data) in files)
        {
            var stored = await store.WriteFileAsync(7, name, data);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), stored.Sha256);
            Assert.Equal(data.Length, stored.Bytes);
            Assert.Equal(data, await ReadAllAsync(store, 7, name));
        }
        var manifest = Encoding.UTF8.GetBytes("{\"step\": 7}");
        await store.CreateManifestAsync(7, manifest);
        Assert.Equal(manifest, await store.ReadManifestAsync(7));
        Assert.Null(await store.ReadLatestAsync());
        Assert.Equal(7, await store.MoveLatestAsync(7));
        Assert.Equal(7, await store.ReadLatestAsync());
        Assert.Equal([7L], await store.ListStepsAsync());
        Assert.Equal(files.Keys.Append(CheckpointNames.Manifest).Order(StringComparer.Ordinal), await store.ListFilesAsync(7));
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => store.OpenReadAsync(7, "shard-9.bin"));
        Assert.Contains("shard-9.bin", missing.Message);

        await store.DeleteStepAsync(7);
        Assert.Empty(await store.ListStepsAsync());
        Assert.Null(await store.ReadManifestAsync(7));
    }

    [Fact]
    public async Task A_300_MB_shard_goes_up_in_staged_blocks_and_verifies()
    {
        var location = Unique("large");
        var store = (BlobCheckpointStore)Open(location);
        var data = new byte[300 << 20];
        for (int i = 0; i < data.Length; i += 4096) data[i] = (byte)(i / 4096 * 31);
        var stored = await store.WriteFileAsync(1, CheckpointNames.Shard(0), data);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), stored.Sha256);

        // Staged: the committed block list holds 300 MiB / 8 MiB blocks, not one Put Blob.
        var blob = await store.BlobAsync(store.Location.BlobName($"{CheckpointNames.Folder(1)}/{CheckpointNames.Shard(0)}"), default);
        var blocks = (await blob.GetParentBlobContainerClient().GetBlockBlobClient(blob.Name).GetBlockListAsync()).Value.CommittedBlocks.ToList();
        Assert.Equal((300 + 7) / 8, blocks.Count);
        Assert.Equal(data.LongLength, blocks.Sum(b => b.SizeLong));

        var summaryJson = Encoding.UTF8.GetBytes($$"""{"step": 1, "run_id": "large", "files": [{"name": "shard-0.bin", "sha256": "{{stored.Sha256}}", "bytes": {{stored.Bytes}}}]}""");
        await store.CreateManifestAsync(1, summaryJson);
        var catalog = new CheckpointCatalog(store);
        var (summary, _) = await catalog.ReadAsync(1);
        Assert.Empty(await catalog.VerifyAsync(summary));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_manifest_is_created_only_if_absent_on_the_single_shot_and_the_staged_path(bool staged)
    {
        var location = Unique(staged ? "staged" : "single");
        var options = staged ? Staged : azurite.Options;
        var first = Encoding.UTF8.GetBytes("{\"step\": 3, \"writer\": \"first\"," + new string(' ', 3000) + "}");
        var second = Encoding.UTF8.GetBytes("{\"step\": 3, \"writer\": \"second\"," + new string(' ', 3000) + "}");
        await Open(location, options).CreateManifestAsync(3, first);
        var conflict = await Assert.ThrowsAsync<CheckpointConflictException>(() => Open(location, options).CreateManifestAsync(3, second));
        Assert.Contains("step-00000003/manifest.json", conflict.Message);
        Assert.Equal(first, await Open(location).ReadManifestAsync(3));
        if (staged)
        {
            // The manifest really went up as blocks (so the condition was on Put Block List).
            var store = (BlobCheckpointStore)Open(location);
            var blob = await store.BlobAsync(store.Location.BlobName($"{CheckpointNames.Folder(3)}/{CheckpointNames.Manifest}"), default);
            Assert.True((await blob.GetParentBlobContainerClient().GetBlockBlobClient(blob.Name).GetBlockListAsync()).Value.CommittedBlocks.Count() > 1);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_writers_commit_the_same_step_and_exactly_one_wins(bool staged)
    {
        var location = Unique("race");
        var options = staged ? Staged : azurite.Options;
        for (long step = 1; step <= 5; step++)
        {
            // Separate accounts: two processes, each with its own client.
            var writers = Enumerable.Range(0, 2).Select(w => new CheckpointStoreFactory(options).Open(location)).ToArray();
            var attempts = writers.Select((store, w) => Task.Run(async () =>
            {
                try
                {
                    await store.CreateManifestAsync(step, Encoding.UTF8.GetBytes($"{{\"step\": {step}, \"writer\": {w}}}" + new string(' ', 2000)));
                    return true;
                }
                catch (CheckpointConflictException)
                {
                    return false;
                }
            })).ToArray();
            var won = await Task.WhenAll(attempts);
            Assert.Equal(1, won.Count(w => w));
            var kept = Encoding.UTF8.GetString((await writers[0].ReadManifestAsync(step))!);
            Assert.Contains($"\"writer\": {Array.IndexOf(won, true)}", kept);
        }
    }

    [Fact]
    public async Task Latest_moves_by_compare_and_swap_and_never_backwards()
    {
        var location = Unique("latest");
        var a = Open(location);
        var b = new CheckpointStoreFactory(azurite.Options).Open(location);
        Assert.Equal(20, await a.MoveLatestAsync(20));
        Assert.Equal(20, await b.MoveLatestAsync(10)); // a later writer of an older step does not move it back
        Assert.Equal(20, await a.ReadLatestAsync());

        // Many writers at once: latest ends on the largest step, whatever the interleaving.
        var steps = Enumerable.Range(21, 24).Select(i => (long)(i * 7 % 24 + 21)).ToArray();
        await Task.WhenAll(steps.Select((s, i) => Task.Run(() => new CheckpointStoreFactory(azurite.Options).Open(location).MoveLatestAsync(s))));
        Assert.Equal(steps.Max(), await a.ReadLatestAsync());

        // A resumed run may point it back explicitly.
        Assert.Equal(5, await b.MoveLatestAsync(5, rewind: true));
        Assert.Equal(5, await a.ReadLatestAsync());
    }

    [Fact]
    public async Task The_local_store_gives_the_same_commit_guarantees()
    {
        var folder = Cluster.ClusterTestSupport.TempDir("sslo-local-commit");
        var writers = Enumerable.Range(0, 2).Select(_ => (ICheckpointStore)new LocalFolderCheckpointStore(folder)).ToArray();
        var won = await Task.WhenAll(writers.Select((s, w) => Task.Run(async () =>
        {
            try { await s.CreateManifestAsync(4, Encoding.UTF8.GetBytes($"writer {w}")); return true; }
            catch (CheckpointConflictException) { return false; }
        })));
        Assert.Equal(1, won.Count(w => w));
        await Task.WhenAll(Enumerable.Range(1, 16).Select(i => Task.Run(() => writers[i % 2].MoveLatestAsync(i))));
        Assert.Equal(16, await writers[0].ReadLatestAsync());
        Assert.Equal(16, await writers[1].MoveLatestAsync(3));
        Assert.Empty(Directory.GetFiles(Path.Combine(folder, CheckpointNames.Folder(4)), ".*")); // no temporary file left behind
    }

    [Fact]
    public async Task A_bad_location_or_account_is_named()
    {
        var container = Assert.Throws<ArgumentException>(() => StorageLocation.Parse("az://No_Such/x", "--out"));
        Assert.Contains("--out", container.Message);
        Assert.Contains("No_Such", container.Message);
        Assert.Throws<ArgumentException>(() => StorageLocation.Parse("az://runs/a/../b", "--out"));
        var none = Assert.Throws<InvalidOperationException>(() => new CheckpointStoreFactory(new StorageOptions()).Open("az://runs/x").ReadLatestAsync().GetAwaiter().GetResult());
        Assert.Contains(StorageOptions.EnvironmentVariable, none.Message);
        var bad = Assert.Throws<ArgumentException>(() => new BlobAccount(new StorageOptions { ConnectionString = "AccountKey=secret;nonsense" }).Service);
        Assert.DoesNotContain("secret", bad.Message);
        await Task.CompletedTask;
    }
}
