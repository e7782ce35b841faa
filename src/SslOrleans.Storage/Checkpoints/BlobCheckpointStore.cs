using System.Text;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using SslOrleans.Storage.Blobs;

namespace SslOrleans.Storage.Checkpoints;

/// <summary>
/// Checkpoints in Azure Blob storage under az://CONTAINER/PREFIX, in the local store's layout. Files up to
/// <see cref="StorageOptions.SingleShotBytes"/> go up in one request, larger ones as staged blocks in parallel; the
/// sha256 is computed while the bytes stream out. The manifest is created with If-None-Match: * and <c>latest</c>
/// moves with If-Match on the ETag it was read with, so of two writers exactly one commits a step and
/// <c>latest</c> never moves backwards.
/// </summary>
public sealed class BlobCheckpointStore : ICheckpointStore
{
    private readonly BlobAccount account;
    // The ETag of each manifest this store created: replacing it is conditional on nobody else having changed it.
    private readonly Dictionary<long, ETag> created = [];

    public BlobCheckpointStore(StorageLocation location, BlobAccount account)
    {
        if (!location.IsBlob) throw new ArgumentException($"{location} is not an az:// location");
        Location = location;
        this.account = account;
    }

    public StorageLocation Location { get; }

    public async Task<StoredFile> WriteFileAsync(long step, string name, ReadOnlyMemory<byte> data, CancellationToken cancellation = default)
    {
        var blob = await BlobAsync(FileName(step, name), cancellation);
        var (sha, _) = await UploadWithETagAsync(blob, data, conditions: null, cancellation);
        return new StoredFile(name, sha, data.Length);
    }

    public async Task<Stream> OpenReadAsync(long step, string name, CancellationToken cancellation = default)
    {
        var blob = await BlobAsync(FileName(step, name), cancellation);
        try
        {
            return await blob.OpenReadAsync(new BlobOpenReadOptions(allowModifications: false) { BufferSize = (int)Math.Min(account.Options.BlockBytes, 8 << 20) }, cancellation);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new FileNotFoundException($"{Location}/{CheckpointNames.Folder(step)}/{name} does not exist", name, e);
        }
    }

    public async Task CreateManifestAsync(long step, ReadOnlyMemory<byte> manifest, CancellationToken cancellation = default)
    {
        var blob = await BlobAsync(FileName(step, CheckpointNames.Manifest), cancellation);
        try
        {
            var (_, etag) = await UploadWithETagAsync(blob, manifest, new BlobRequestConditions { IfNoneMatch = ETag.All }, cancellation);
            lock (created) created[step] = etag;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            throw new CheckpointConflictException($"{Location}/{CheckpointNames.Folder(step)}/{CheckpointNames.Manifest} exists: another writer committed step {step} first", e);
        }
    }

    public async Task ReplaceManifestAsync(long step, ReadOnlyMemory<byte> manifest, CancellationToken cancellation = default)
    {
        var blob = await BlobAsync(FileName(step, CheckpointNames.Manifest), cancellation);
        ETag expected;
        lock (created) expected = created.TryGetValue(step, out var e) ? e : ETag.All;
        try
        {
            var (_, etag) = await UploadWithETagAsync(blob, manifest, new BlobRequestConditions { IfMatch = expected }, cancellation);
            lock (created) created[step] = etag;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            throw new CheckpointConflictException($"{Location}/{CheckpointNames.Folder(step)}/{CheckpointNames.Manifest} is not the manifest this run committed " +
                                                  $"(it is gone or another writer changed it): {e.ErrorCode}", e);
        }
    }

    public async Task<byte[]?> ReadManifestAsync(long step, CancellationToken cancellation = default) =>
        (await ReadAsync(FileName(step, CheckpointNames.Manifest), cancellation))?.Content;

    public async Task<long?> ReadLatestAsync(CancellationToken cancellation = default) =>
        await ReadAsync(Location.BlobName(CheckpointNames.Latest), cancellation) is { } latest
            ? CheckpointNames.ParseLatest(Encoding.UTF8.GetString(latest.Content), $"{Location}/{CheckpointNames.Latest}")
            : null;

    public async Task<long> MoveLatestAsync(long step, bool rewind = false, CancellationToken cancellation = default)
    {
        var name = Location.BlobName(CheckpointNames.Latest);
        var blob = await BlobAsync(name, cancellation);
        var content = Encoding.UTF8.GetBytes(CheckpointNames.Folder(step) + "\n");
        for (int attempt = 0; ; attempt++)
        {
            var current = await ReadAsync(name, cancellation);
            long? now = current is null ? null : CheckpointNames.ParseLatest(Encoding.UTF8.GetString(current.Value.Content), $"{Location}/{CheckpointNames.Latest}");
            if (now is { } n && n >= step && !rewind) return n;
            // Absent: create only if still absent. Present: replace only the version just read.
            var conditions = current is null ? new BlobRequestConditions { IfNoneMatch = ETag.All } : new BlobRequestConditions { IfMatch = current.Value.ETag };
            try
            {
                await UploadWithETagAsync(blob, content, conditions, cancellation);
                return step;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 && attempt < 100)
            {
                // Another writer moved it in between: read again and decide again.
            }
        }
    }

    public async Task<IReadOnlyList<long>> ListStepsAsync(CancellationToken cancellation = default)
    {
        var container = await account.ContainerAsync(Location, cancellation);
        var steps = new List<long>();
        await foreach (var item in container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Delimiter = "/", Prefix = Location.BlobName("") }, cancellation))
        {
            if (item.IsPrefix && CheckpointNames.StepOf(item.Prefix.TrimEnd('/').Split('/')[^1]) is { } step) steps.Add(step);
        }
        steps.Sort();
        return steps;
    }

    public async Task<IReadOnlyList<string>> ListFilesAsync(long step, CancellationToken cancellation = default)
    {
        var container = await account.ContainerAsync(Location, cancellation);
        var folder = Location.BlobName(CheckpointNames.Folder(step) + "/");
        var names = new List<string>();
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = folder }, cancellation))
            names.Add(item.Name[folder.Length..]);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public async Task DeleteStepAsync(long step, CancellationToken cancellation = default)
    {
        var container = await account.ContainerAsync(Location, cancellation);
        // The manifest goes first: a delete cut short leaves an unfinished checkpoint, never one that looks complete.
        await container.GetBlobClient(FileName(step, CheckpointNames.Manifest)).DeleteIfExistsAsync(cancellationToken: cancellation);
        foreach (var name in await ListFilesAsync(step, cancellation))
            await container.GetBlobClient(FileName(step, name)).DeleteIfExistsAsync(cancellationToken: cancellation);
        lock (created) created.Remove(step);
    }

    /// <summary>Uploads with the store's transfer options: one request up to SingleShotBytes, staged blocks above it.
    /// Conditions apply to the request that creates the blob (Put Blob, or Put Block List after the blocks).</summary>
    private async Task<(string Sha256, ETag ETag)> UploadWithETagAsync(BlobClient blob, ReadOnlyMemory<byte> data, BlobRequestConditions? conditions, CancellationToken cancellation)
    {
        var o = account.Options;
        await using var content = new HashingReadStream(data);
        var response = await blob.UploadAsync(content, new BlobUploadOptions
        {
            Conditions = conditions,
            TransferOptions = new StorageTransferOptions
            {
                InitialTransferSize = o.SingleShotBytes,
                MaximumTransferSize = o.BlockBytes,
                MaximumConcurrency = o.Concurrency,
            },
        }, cancellation);
        return (content.Sha256, response.Value.ETag);
    }

    private async Task<(byte[] Content, ETag ETag)?> ReadAsync(string name, CancellationToken cancellation)
    {
        var blob = await BlobAsync(name, cancellation);
        try
        {
            var result = await blob.DownloadContentAsync(cancellation);
            return (result.Value.Content.ToArray(), result.Value.Details.ETag);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    internal async Task<BlobClient> BlobAsync(string name, CancellationToken cancellation) =>
        (await account.ContainerAsync(Location, cancellation)).GetBlobClient(name);

    private string FileName(long step, string name)
    {
        CheckpointNames.CheckFileName(name);
        return Location.BlobName($"{CheckpointNames.Folder(step)}/{name}");
    }
}
