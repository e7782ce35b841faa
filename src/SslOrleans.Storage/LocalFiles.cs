using System.Runtime.InteropServices;

namespace SslOrleans.Storage;

/// <summary>Durable local writes: data reaches the disk (fsync of the file and of its folder) before a rename publishes it.</summary>
internal static class LocalFiles
{
    /// <summary>Throws when <paramref name="path"/> is a symbolic link: a checkpoint folder's files, step folders and
    /// <c>latest</c> are never links, so one there was planted and could lead outside the run's location.</summary>
    public static void RefuseLink(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target)
            throw new IOException($"{path} is a symbolic link (to {target}); a checkpoint location holds none, so nothing is read or written through it");
    }

    /// <summary>Writes <paramref name="data"/> to a temporary name beside <paramref name="path"/>, fsyncs it and renames it
    /// into place (replacing, or failing with <see cref="IOException"/> when <paramref name="overwrite"/> is false and the
    /// path exists), then fsyncs the folder so the rename itself survives a crash.</summary>
    public static async Task WriteDurableAsync(string path, ReadOnlyMemory<byte> data, bool overwrite, CancellationToken cancellation)
    {
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var tmp = Path.Combine(folder, "." + Path.GetFileName(path) + ".tmp-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await f.WriteAsync(data, cancellation);
                f.Flush(flushToDisk: true);
            }
            if (overwrite) File.Move(tmp, path, overwrite: true);
            else Publish(tmp, path);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
        SyncFolder(folder);
    }

    /// <summary>
    /// Gives <paramref name="tmp"/> the name <paramref name="path"/> unless that name exists, atomically: link(2) fails
    /// with EEXIST when another writer took the name first. (.NET's File.Move without overwrite checks that the name is
    /// free and then renames, and rename replaces: two writers could both win.) A file system without hard links
    /// falls back to that check-then-move.
    /// </summary>
    private static void Publish(string tmp, string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            File.Move(tmp, path, overwrite: false);
            return;
        }
        if (Link(tmp, path) == 0) return; // the temporary name is removed by the caller
        int errno = Marshal.GetLastPInvokeError();
        if (errno == EExist) throw new IOException($"{path} exists");
        if (errno is EPerm or EXDev or ENotSup or EMLink)
        {
            File.Move(tmp, path, overwrite: false);
            return;
        }
        throw new IOException($"cannot create {path} (link failed, errno {errno})");
    }

    // Linux's errno values (EPERM, EEXIST, EXDEV and EMLINK are the same on macOS).
    private const int EPerm = 1, EExist = 17, EXDev = 18, EMLink = 31, ENotSup = 95;

    /// <summary>fsync of a folder: makes the names created, renamed or removed in it durable.</summary>
    public static void SyncFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = Open(folder, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"cannot open folder {folder} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of folder {folder} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string existing, [MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
