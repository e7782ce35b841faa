using System.Security.Cryptography;
using System.Text;
using Azure.Storage.Blobs.Models;
using SslOrleans.Storage.Blobs;

namespace SslOrleans.Storage.Data;

/// <summary>
/// Makes an az:// folder (a dataset, a tokenizer) readable as a local one. Every blob is cached on local disk by its
/// sha256 (blobs/sha256/HEX) and never downloaded twice: its sha256 comes from the blob's "sha256" metadata (which
/// `sslo data upload` sets) or, for blobs without it, from an index of what this cache already read keyed by the blob's
/// ETag. The location's folder (locations/KEY/) holds one symbolic link per blob into the cache.
/// </summary>
public sealed class BlobFolderCache(BlobAccount account)
{
    public const string Sha256Metadata = "sha256";

    private readonly Dictionary<string, Task<string>> materialised = [];

    /// <summary>The local folder of <paramref name="location"/>: the folder itself for a local path, else the cached copy.</summary>
    /// <param name="what">The flag or key the location came from, named in errors.</param>
    public Task<string> LocalFolderAsync(string location, string what, CancellationToken cancellation = default)
    {
        var parsed = StorageLocation.Parse(location, what);
        if (!parsed.IsBlob) return Task.FromResult(parsed.Text);
        // Two workers of one process ask for the same dataset: one download.
        lock (materialised)
        {
            if (!materialised.TryGetValue(parsed.Text, out var task) || task.IsFaulted || task.IsCanceled)
                materialised[parsed.Text] = task = Task.Run(() => MaterialiseAsync(parsed, what, cancellation), cancellation);
            return task;
        }
    }

    /// <summary>Blobs this process downloaded (not found in the cache): a measure of "never read twice".</summary>
    public long Downloads => Interlocked.Read(ref downloads);

    private long downloads;

    private async Task<string> MaterialiseAsync(StorageLocation location, string what, CancellationToken cancellation)
    {
        var root = account.Options.ResolvedCacheFolder;
        var blobs = Path.Combine(root, "blobs", "sha256");
        var etags = Path.Combine(root, "etags");
        var folder = Path.Combine(root, "locations", Key(account.Service.Uri + "|" + location.Text)[..24]);
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(etags);
        var container = await account.ContainerAsync(location, cancellation);
        var prefix = location.BlobName("");
        int count = 0;
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix, Traits = BlobTraits.Metadata }, cancellation))
        {
            var relative = item.Name[prefix.Length..];
            if (relative.Split('/').Any(p => p is "" or "." or "..")) continue;
            count++;
            var etagKey = Path.Combine(etags, Key($"{account.Service.Uri}|{container.Name}/{item.Name}|{item.Properties.ETag}"));
            string? sha = item.Metadata.TryGetValue(Sha256Metadata, out var m) && IsSha256(m) ? m.ToLowerInvariant()
                : File.Exists(etagKey) ? (await File.ReadAllTextAsync(etagKey, cancellation)).Trim() : null;
            var cached = sha is null ? null : Path.Combine(blobs, sha);
            if (cached is null || !File.Exists(cached))
            {
                var tmp = Path.Combine(blobs, ".part-" + Guid.NewGuid().ToString("N"));
                string actual;
                await using (var target = File.Create(tmp))
                {
                    var download = await container.GetBlobClient(item.Name).DownloadStreamingAsync(cancellationToken: cancellation);
                    await using var source = download.Value.Content;
                    (actual, _) = await Checkpoints.CheckpointFiles.HashAsync(source, target, cancellation);
                    target.Flush(flushToDisk: true);
                }
                Interlocked.Increment(ref downloads);
                if (sha is not null && sha != actual)
                {
                    File.Delete(tmp);
                    throw new InvalidDataException($"{what}: {location}/{relative}: sha256 {actual}, its metadata says {sha}");
                }
                sha = actual;
                cached = Path.Combine(blobs, sha);
                File.Move(tmp, cached, overwrite: true);
                await File.WriteAllTextAsync(etagKey, sha, cancellation);
            }
            var link = Path.Combine(folder, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            var linkTmp = Path.Combine(Path.GetDirectoryName(link)!, ".link-" + Guid.NewGuid().ToString("N"));
            File.CreateSymbolicLink(linkTmp, cached);
            File.Move(linkTmp, link, overwrite: true);
        }
        if (count == 0) throw new FileNotFoundException($"{what}: {location} holds no blobs (is the container or prefix right?)");
        return folder;
    }

    private static bool IsSha256(string text) => text.Length == 64 && text.All(Uri.IsHexDigit);

    private static string Key(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
