using System.Security.Cryptography;
using Azure.Storage.Blobs;
using SslOrleans.Storage;
using SslOrleans.Storage.Blobs;
using SslOrleans.Storage.Data;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>az:// folders (datasets, tokenizers) read into the local cache: by sha256, never downloaded twice, checked.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
[Collection(AzuriteBlobCollection.Name)]
public sealed class BlobFolderCacheTests(AzuriteBlobFixture azurite)
{
    private StorageOptions Options(string cache) => azurite.Options with { CacheFolder = cache };

    [Fact]
    public async Task A_folder_uploaded_with_its_sha256_is_read_once_and_then_served_from_the_cache()
    {
        var source = Cluster.ClusterTestSupport.TempDir("sslo-upload");
        var files = new[] { "tokenizer.safetensors", "tokenizer.json" }.Select((name, i) =>
        {
            var path = Path.Combine(source, name);
            var bytes = new byte[100_000 + i];
            new Random(i).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            return path;
        }).ToArray();
        var location = StorageLocation.Parse($"az://tokenizers/t-{Guid.NewGuid():N}");
        var cache = Cluster.ClusterTestSupport.TempDir("sslo-cache");
        var uploaded = await BlobFolderUpload.UploadAsync(new BlobAccount(Options(cache)), location, files);
        Assert.Equal(files.Select(f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))), uploaded.Select(u => u.Sha256));

        var first = new BlobFolderCache(new BlobAccount(Options(cache)));
        var folder = await first.LocalFolderAsync(location.Text, "--tokenizer");
        Assert.Equal(2, first.Downloads);
        foreach (var f in files) Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(Path.Combine(folder, Path.GetFileName(f))));

        // Another process (a new cache object) on the same machine: nothing is downloaded again.
        var second = new BlobFolderCache(new BlobAccount(Options(cache)));
        Assert.Equal(folder, await second.LocalFolderAsync(location.Text, "--tokenizer"));
        Assert.Equal(0, second.Downloads);
        // A local folder is itself.
        Assert.Equal(source, await second.LocalFolderAsync(source, "--data"));
    }

    [Fact]
    public async Task A_blob_without_sha256_metadata_is_cached_by_its_etag_and_a_wrong_one_is_named()
    {
        var cache = Cluster.ClusterTestSupport.TempDir("sslo-cache");
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("data");
        await container.CreateIfNotExistsAsync();
        var prefix = $"plain-{Guid.NewGuid():N}";
        await container.GetBlobClient($"{prefix}/a.bin").UploadAsync(new BinaryData(new byte[] { 1, 2, 3 }));
        var location = $"az://data/{prefix}";
        var first = new BlobFolderCache(new BlobAccount(Options(cache)));
        var folder = await first.LocalFolderAsync(location, "--data");
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(Path.Combine(folder, "a.bin")));
        var second = new BlobFolderCache(new BlobAccount(Options(cache)));
        await second.LocalFolderAsync(location, "--data");
        Assert.Equal(0, second.Downloads);

        // Metadata that does not match the bytes: an error naming the blob, nothing cached under the wrong name.
        var lying = $"lying-{Guid.NewGuid():N}";
        await container.GetBlobClient($"{lying}/b.bin").UploadAsync(new BinaryData(new byte[] { 9 }), new Azure.Storage.Blobs.Models.BlobUploadOptions
        {
            Metadata = new Dictionary<string, string> { [BlobFolderCache.Sha256Metadata] = new string('a', 64) },
        });
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => new BlobFolderCache(new BlobAccount(Options(cache))).LocalFolderAsync($"az://data/{lying}", "--data"));
        Assert.Contains($"--data: az://data/{lying}/b.bin: sha256", error.Message);
        Assert.False(File.Exists(Path.Combine(cache, "blobs", "sha256", new string('a', 64))));

        var empty = await Assert.ThrowsAsync<FileNotFoundException>(() => first.LocalFolderAsync($"az://data/none-{Guid.NewGuid():N}", "--data"));
        Assert.Contains("holds no blobs", empty.Message);
    }
}
