using System.Security.Cryptography;
using Azure.Storage;
using Azure.Storage.Blobs.Models;
using SslOrleans.Storage.Blobs;

namespace SslOrleans.Storage.Data;

/// <summary>Puts local files into an az:// folder, each with its sha256 in the blob's metadata (what <see cref="BlobFolderCache"/> caches by).</summary>
public static class BlobFolderUpload
{
    /// <param name="root">Files under this folder keep their path relative to it (train/shard-000000.tar); without it,
    /// every file goes up by its name alone.</param>
    /// <returns>Per file: its blob name under the location, bytes and sha256.</returns>
    public static async Task<IReadOnlyList<(string Name, long Bytes, string Sha256)>> UploadAsync(
        BlobAccount account, StorageLocation location, IEnumerable<string> files, CancellationToken cancellation = default, string? root = null)
    {
        var container = await account.ContainerAsync(location, cancellation);
        var done = new List<(string, long, string)>();
        foreach (var file in files)
        {
            var name = root is null ? Path.GetFileName(file) : Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
            // The sha256 goes into the blob's metadata, which travels with the upload's first request: hash first.
            string sha;
            await using (var read = File.OpenRead(file)) sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(read, cancellation));
            await using var content = File.OpenRead(file);
            await container.GetBlobClient(location.BlobName(name)).UploadAsync(content, new BlobUploadOptions
            {
                Metadata = new Dictionary<string, string> { [BlobFolderCache.Sha256Metadata] = sha },
                TransferOptions = new StorageTransferOptions
                {
                    InitialTransferSize = account.Options.SingleShotBytes,
                    MaximumTransferSize = account.Options.BlockBytes,
                    MaximumConcurrency = account.Options.Concurrency,
                },
            }, cancellation);
            done.Add((name, content.Length, sha));
        }
        return done;
    }
}
