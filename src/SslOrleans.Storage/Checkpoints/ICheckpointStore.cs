namespace SslOrleans.Storage.Checkpoints;

/// <summary>
/// The checkpoints of one run: LOCATION/step-n/{shard-k.bin, backbone.safetensors, online_probe.safetensors,
/// manifest.json} and LOCATION/latest naming the newest complete one. A checkpoint exists once its manifest does:
/// files first, then the manifest (created only if absent, so two writers cannot both commit a step), then
/// <c>latest</c> (moved by compare-and-swap, never backwards). Manifests are bytes here: their schema belongs to the
/// training layer; <see cref="CheckpointSummary"/> is the part every reader needs.
/// </summary>
public interface ICheckpointStore
{
    StorageLocation Location { get; }

    /// <summary>Writes (or overwrites) a file of step <paramref name="step"/> durably; returns its size and sha256.</summary>
    Task<StoredFile> WriteFileAsync(long step, string name, ReadOnlyMemory<byte> data, CancellationToken cancellation = default);

    /// <summary>Reads a file of a checkpoint; <see cref="FileNotFoundException"/> names it when it is missing.</summary>
    Task<Stream> OpenReadAsync(long step, string name, CancellationToken cancellation = default);

    /// <summary>Creates step-n/manifest.json only if it does not exist; <see cref="CheckpointConflictException"/> when it does.</summary>
    Task CreateManifestAsync(long step, ReadOnlyMemory<byte> manifest, CancellationToken cancellation = default);

    /// <summary>Replaces an existing manifest (the evaluation adds its scores to the final checkpoint's).</summary>
    Task ReplaceManifestAsync(long step, ReadOnlyMemory<byte> manifest, CancellationToken cancellation = default);

    /// <summary>The manifest of step n, or null when the checkpoint has none (unfinished or absent).</summary>
    Task<byte[]?> ReadManifestAsync(long step, CancellationToken cancellation = default);

    /// <summary>The step <c>latest</c> names, or null when the run has no complete checkpoint.</summary>
    Task<long?> ReadLatestAsync(CancellationToken cancellation = default);

    /// <summary>
    /// Points <c>latest</c> at step n by compare-and-swap, unless it already names a later step (latest never moves
    /// backwards; <paramref name="rewind"/> moves it anyway, for a run resumed from an older checkpoint). Returns the
    /// step <c>latest</c> names afterwards.
    /// </summary>
    Task<long> MoveLatestAsync(long step, bool rewind = false, CancellationToken cancellation = default);

    /// <summary>Every step with a folder, complete or not, in ascending order.</summary>
    Task<IReadOnlyList<long>> ListStepsAsync(CancellationToken cancellation = default);

    /// <summary>The names of the files a step's folder holds.</summary>
    Task<IReadOnlyList<string>> ListFilesAsync(long step, CancellationToken cancellation = default);

    /// <summary>Removes a step's folder and everything in it (nothing when it is absent).</summary>
    Task DeleteStepAsync(long step, CancellationToken cancellation = default);
}

/// <summary>Opens the store of a run from its location: a folder or az://CONTAINER/PREFIX.</summary>
public interface ICheckpointStoreFactory
{
    ICheckpointStore Open(string location);
}
