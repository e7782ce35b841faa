using SslOrleans.Abstractions.Checkpoints;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Checkpoints;

/// <summary>The training layer's typed view of a store: commits and reads <see cref="CheckpointManifest"/>s.</summary>
public static class CheckpointManifests
{
    /// <summary>Creates the step's manifest (only if absent), then moves <c>latest</c> to it (never backwards).
    /// Returns the manifest's name.</summary>
    public static async Task<string> CommitAsync(this ICheckpointStore store, CheckpointManifest manifest, CancellationToken cancellation = default)
    {
        await store.CreateManifestAsync(manifest.Step, ManifestJson.Serialize(manifest), cancellation);
        await store.MoveLatestAsync(manifest.Step, cancellation: cancellation);
        return ManifestName(store, manifest.Step);
    }

    /// <summary>The manifest <c>latest</c> names, or null when the run has no complete checkpoint.</summary>
    public static async Task<CheckpointManifest?> ReadLatestManifestAsync(this ICheckpointStore store, CancellationToken cancellation = default)
    {
        if (await store.ReadLatestAsync(cancellation) is not { } step) return null;
        var name = ManifestName(store, step);
        var bytes = await store.ReadManifestAsync(step, cancellation)
            ?? throw new InvalidDataException($"{store.Location}/{CheckpointNames.Latest} names {CheckpointNames.Folder(step)}, but {name} does not exist");
        return ManifestJson.Deserialize(bytes, name);
    }

    public static string ManifestName(ICheckpointStore store, long step) =>
        store.Location.IsBlob ? $"{store.Location}/{CheckpointNames.Folder(step)}/{CheckpointNames.Manifest}"
            : Path.Combine(store.Location.Text, CheckpointNames.Folder(step), CheckpointNames.Manifest);

    public static FileDigest ToDigest(this StoredFile file) => new(file.Name, file.Sha256, file.Bytes);
}
