using System.Security.Cryptography;

namespace SslOrleans.Storage.Checkpoints;

/// <summary>Recomputes the SHA-256 of every file a manifest lists.</summary>
public static class CheckpointVerifier
{
    /// <param name="path">A run folder (its latest checkpoint), a step folder or a manifest.json.</param>
    /// <returns>One line per problem; empty when the checkpoint verifies.</returns>
    public static async Task<(string Manifest, IReadOnlyList<string> Problems)> VerifyAsync(string path)
    {
        string manifestPath = ResolveManifest(path);
        var manifest = ManifestJson.Deserialize(await File.ReadAllBytesAsync(manifestPath), manifestPath);
        var folder = Path.GetDirectoryName(manifestPath)!;
        var problems = new List<string>();
        foreach (var f in manifest.Files)
        {
            var file = Path.Combine(folder, f.Name);
            if (!File.Exists(file)) { problems.Add($"{file}: missing"); continue; }
            await using var stream = File.OpenRead(file);
            var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
            if (stream.Length != f.Bytes) problems.Add($"{file}: {stream.Length} bytes, manifest says {f.Bytes}");
            if (sha != f.Sha256) problems.Add($"{file}: sha256 {sha}, manifest says {f.Sha256}");
        }
        return (manifestPath, problems);
    }

    public static string ResolveManifest(string path)
    {
        if (File.Exists(path)) return path;
        var latest = Path.Combine(path, CheckpointNames.Latest);
        if (File.Exists(latest)) return Path.Combine(path, File.ReadAllText(latest).Trim(), CheckpointNames.Manifest);
        var direct = Path.Combine(path, CheckpointNames.Manifest);
        if (File.Exists(direct)) return direct;
        throw new FileNotFoundException($"{path}: no manifest.json and no 'latest' file here", path);
    }
}
