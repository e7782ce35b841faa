using SslOrleans.Abstractions.Checkpoints;
using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Storage.Checkpoints;

/// <summary>
/// The checkpoints of one run: &lt;location&gt;/step-&lt;n&gt;/{shard-k.bin, backbone.safetensors, manifest.json}
/// and &lt;location&gt;/latest naming the last complete checkpoint.
/// </summary>
public interface ICheckpointStore
{
    string Location { get; }
    Task<FileDigest> WriteFileAsync(string checkpoint, string name, ReadOnlyMemory<byte> data, CancellationToken cancellation = default);
    Task<byte[]> ReadFileAsync(string checkpoint, string name, CancellationToken cancellation = default);
    /// <summary>Writes manifest.json, then points latest at it.</summary>
    Task<string> CommitAsync(CheckpointManifest manifest, CancellationToken cancellation = default);
    /// <summary>The manifest that latest points at, or null when the run has no checkpoint.</summary>
    Task<CheckpointManifest?> ReadLatestAsync(CancellationToken cancellation = default);
}

/// <summary>Opens the store of a run from its location (a folder now; blob URIs later).</summary>
public interface ICheckpointStoreFactory
{
    ICheckpointStore Open(string location);
}
