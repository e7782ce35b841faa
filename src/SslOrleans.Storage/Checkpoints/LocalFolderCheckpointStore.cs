using System.Security.Cryptography;
using System.Text;

namespace SslOrleans.Storage.Checkpoints;

/// <summary>
/// Checkpoints in a local folder. Every file is written to a temporary name, fsynced and renamed, and the folder
/// fsynced, so a crash leaves either the old file or the new one; the manifest is linked into place only if absent;
/// <c>latest</c> moves under an exclusive lock on latest.lock (the compare-and-swap of this store).
/// </summary>
public sealed class LocalFolderCheckpointStore : ICheckpointStore
{
    public LocalFolderCheckpointStore(string location)
    {
        Location = StorageLocation.Parse(location, "checkpoint folder");
        if (Location.IsBlob) throw new ArgumentException($"{location} is a blob location; open it with BlobCheckpointStore");
    }

    public StorageLocation Location { get; }

    public async Task<StoredFile> WriteFileAsync(long step, string name, ReadOnlyMemory<byte> data, CancellationToken cancellation = default)
    {
        await LocalFiles.WriteDurableAsync(PathOf(step, name), data, overwrite: true, cancellation);
        return new StoredFile(name, Convert.ToHexStringLower(SHA256.HashData(data.Span)), data.Length);
    }

    public Task<Stream> OpenReadAsync(long step, string name, CancellationToken cancellation = default)
    {
        var path = PathOf(step, name);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint file {path} does not exist", path);
        return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous));
    }

    public async Task CreateManifestAsync(long step, ReadOnlyMemory<byte> manifest, CancellationToken cancellation = default)
    {
        var path = PathOf(step, CheckpointNames.Manifest);
        try
        {
            await LocalFiles.WriteDurableAsync(path, manifest, overwrite: false, cancellation);
        }
        catch (IOException e) when (File.Exists(path))
        {
            throw new CheckpointConflictException($"{path} exists: another writer committed step {step} first", e);
        }
    }

    public async Task ReplaceManifestAsync(long step, ReadOnlyMemory<byte> manifest, CancellationToken cancellation = default)
    {
        var path = PathOf(step, CheckpointNames.Manifest);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist; only a committed manifest can be replaced", path);
        await LocalFiles.WriteDurableAsync(path, manifest, overwrite: true, cancellation);
    }

    public async Task<byte[]?> ReadManifestAsync(long step, CancellationToken cancellation = default)
    {
        var path = PathOf(step, CheckpointNames.Manifest);
        try { return await File.ReadAllBytesAsync(path, cancellation); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
    }

    public async Task<long?> ReadLatestAsync(CancellationToken cancellation = default)
    {
        var path = Location.LocalPath(CheckpointNames.Latest);
        LocalFiles.RefuseLink(path);
        if (!File.Exists(path)) return null;
        return CheckpointNames.ParseLatest(await File.ReadAllTextAsync(path, cancellation), path);
    }

    public async Task<long> MoveLatestAsync(long step, bool rewind = false, CancellationToken cancellation = default)
    {
        Directory.CreateDirectory(Location.Text);
        var lockPath = Location.LocalPath(CheckpointNames.Latest + ".lock");
        LocalFiles.RefuseLink(lockPath);
        for (int attempt = 0; ; attempt++)
        {
            FileStream held;
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock) on Unix: one mover at a time, across processes.
                held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 600)
            {
                await Task.Delay(50, cancellation);
                continue;
            }
            await using (held)
            {
                var current = await ReadLatestAsync(cancellation);
                if (current is { } now && now >= step && !rewind) return now;
                await LocalFiles.WriteDurableAsync(Location.LocalPath(CheckpointNames.Latest),
                    Encoding.UTF8.GetBytes(CheckpointNames.Folder(step) + "\n"), overwrite: true, cancellation);
                return step;
            }
        }
    }

    public Task<IReadOnlyList<long>> ListStepsAsync(CancellationToken cancellation = default)
    {
        IReadOnlyList<long> steps = !Directory.Exists(Location.Text) ? []
            : Directory.EnumerateDirectories(Location.Text).Where(d => new DirectoryInfo(d).LinkTarget is null)
                .Select(d => CheckpointNames.StepOf(Path.GetFileName(d)))
                .OfType<long>().Order().ToList();
        return Task.FromResult(steps);
    }

    public Task<IReadOnlyList<string>> ListFilesAsync(long step, CancellationToken cancellation = default)
    {
        var folder = Location.LocalPath(CheckpointNames.Folder(step));
        LocalFiles.RefuseLink(folder);
        IReadOnlyList<string> files = !Directory.Exists(folder) ? []
            : Directory.EnumerateFiles(folder).Select(Path.GetFileName).OfType<string>().Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        return Task.FromResult(files);
    }

    public Task DeleteStepAsync(long step, CancellationToken cancellation = default)
    {
        var folder = Location.LocalPath(CheckpointNames.Folder(step));
        LocalFiles.RefuseLink(folder);
        if (Directory.Exists(folder))
        {
            // The manifest goes first: a crash half-way leaves an unfinished checkpoint, never one that looks complete.
            var manifest = Path.Combine(folder, CheckpointNames.Manifest);
            if (File.Exists(manifest)) File.Delete(manifest);
            Directory.Delete(folder, recursive: true);
            LocalFiles.SyncFolder(Location.Text);
        }
        return Task.CompletedTask;
    }

    /// <summary>The path of a checkpoint file, refused when its step folder or the file is a symbolic link.</summary>
    public string PathOf(long step, string name)
    {
        CheckpointNames.CheckFileName(name);
        var folder = Location.LocalPath(CheckpointNames.Folder(step));
        LocalFiles.RefuseLink(folder);
        var path = Path.Combine(folder, name);
        LocalFiles.RefuseLink(path);
        return path;
    }
}
