using System.Runtime.InteropServices;

namespace SslOrleans.Storage;

/// <summary>
/// The locations a silo lets runs read and write (<c>Storage:AllowedRoots</c>): local folders and <c>az://CONTAINER[/PREFIX]</c>.
/// None configured: anywhere (a development silo). A local location is inside a root when its real path (symbolic links
/// resolved, <c>..</c> removed) is the root's real path or below it, so that a link planted in an allowed folder cannot
/// lead out of it; a blob location when it is in the root's container and under its prefix, segment by segment.
/// </summary>
public sealed class StorageRoots
{
    public const string Key = "Storage:AllowedRoots";

    public static readonly StorageRoots Anywhere = new([]);

    private StorageRoots(IReadOnlyList<StorageLocation> roots) => Roots = roots;

    public IReadOnlyList<StorageLocation> Roots { get; }

    public bool Confined => Roots.Count > 0;

    /// <summary>Roots from configuration text: entries separated by ';' or ','. A local root must be an absolute path.</summary>
    public static StorageRoots Parse(IEnumerable<string> entries)
    {
        var roots = new List<StorageLocation>();
        foreach (var raw in entries.SelectMany(e => e.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (!StorageLocation.IsBlobText(raw) && !Path.IsPathFullyQualified(raw))
                throw new ArgumentException($"{Key}: '{raw}' must be an absolute folder or az://CONTAINER[/PREFIX]");
            roots.Add(StorageLocation.Parse(raw, Key));
        }
        return roots.Count == 0 ? Anywhere : new StorageRoots(roots);
    }

    /// <summary>Why <paramref name="location"/> (from <paramref name="what"/>, e.g. "out") is outside every root, or null.</summary>
    public string? Problem(StorageLocation location, string what)
    {
        if (!Confined) return null;
        var real = location.IsBlob ? location.Text : RealPath(location.Text);
        bool inside = location.IsBlob
            ? Roots.Any(r => r.IsBlob && BlobInside(location, r))
            : Roots.Any(r => !r.IsBlob && IsUnder(real, RealPath(r.Text)));
        if (inside) return null;
        var resolved = real != location.Text ? $" (resolved: {real})" : "";
        return $"{what}: {location.Text}{resolved} is outside the locations this silo allows ({Key}: {string.Join(", ", Roots.Select(r => r.Text))})";
    }

    private static bool BlobInside(StorageLocation location, StorageLocation root) =>
        location.Container == root.Container
        && (root.Prefix.Length == 0 || location.Prefix == root.Prefix || location.Prefix.StartsWith(root.Prefix + "/", StringComparison.Ordinal));

    private static bool IsUnder(string path, string root) =>
        path == root || path.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal);

    /// <summary>The path with every symbolic link resolved: realpath(3) of its deepest existing ancestor, then the rest
    /// (which does not exist yet, so holds no link).</summary>
    public static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        var existing = full;
        while (!Path.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            missing.Push(Path.GetFileName(existing));
            existing = parent;
        }
        var real = Resolve(existing) ?? existing;
        while (missing.Count > 0) real = Path.Combine(real, missing.Pop());
        return real;
    }

    private static string? Resolve(string path)
    {
        var buffer = realpath(path, IntPtr.Zero);
        if (buffer == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(buffer); }
        finally { free(buffer); }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc")]
    private static extern void free(IntPtr pointer);
}
