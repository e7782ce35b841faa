using System.Security.Cryptography;
using System.Text;
using SslOrleans.Abstractions.Checkpoints;
using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Storage.Checkpoints;

/// <summary>Checkpoints in a local folder. Every file is written to a temporary name and renamed, so a reader never sees half a file.</summary>
public sealed class LocalFolderCheckpointStore(string location) : ICheckpointStore
{
    public string Location { get; } = Path.GetFullPath(location);

    public async Task<FileDigest> WriteFileAsync(string checkpoint, string name, ReadOnlyMemory<byte> data, CancellationToken cancellation = default)
    {
        var path = PathOf(checkpoint, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await WriteAtomicAsync(path, data, cancellation);
        return new FileDigest(name, Convert.ToHexStringLower(SHA256.HashData(data.Span)), data.Length);
    }

    public async Task<byte[]> ReadFileAsync(string checkpoint, string name, CancellationToken cancellation = default)
    {
        var path = PathOf(checkpoint, name);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint file {path} does not exist", path);
        return await File.ReadAllBytesAsync(path, cancellation);
    }

    public async Task<string> CommitAsync(CheckpointManifest manifest, CancellationToken cancellation = default)
    {
        var folder = CheckpointNames.Folder(manifest.Step);
        var path = PathOf(folder, CheckpointNames.Manifest);
        await WriteAtomicAsync(path, ManifestJson.Serialize(manifest), cancellation);
        await WriteAtomicAsync(Path.Combine(Location, CheckpointNames.Latest), Encoding.UTF8.GetBytes(folder + "\n"), cancellation);
        return path;
    }

    public async Task<CheckpointManifest?> ReadLatestAsync(CancellationToken cancellation = default)
    {
        var latest = Path.Combine(Location, CheckpointNames.Latest);
        if (!File.Exists(latest)) return null;
        var folder = (await File.ReadAllTextAsync(latest, cancellation)).Trim();
        var path = PathOf(folder, CheckpointNames.Manifest);
        if (!File.Exists(path)) throw new InvalidDataException($"{latest} names {folder}, but {path} does not exist");
        return ManifestJson.Deserialize(await File.ReadAllBytesAsync(path, cancellation), path);
    }

    public string PathOf(string checkpoint, string name)
    {
        if (checkpoint.Contains("..") || name.Contains('/') || name.Contains(".."))
            throw new ArgumentException($"checkpoint '{checkpoint}' / file '{name}' must not leave the run folder");
        return Path.Combine(Location, checkpoint, name);
    }

    private static async Task WriteAtomicAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellation)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        await File.WriteAllBytesAsync(tmp, data, cancellation);
        File.Move(tmp, path, overwrite: true);
    }
}

public sealed class LocalFolderCheckpointStoreFactory : ICheckpointStoreFactory
{
    public ICheckpointStore Open(string location) => new LocalFolderCheckpointStore(location);
}
