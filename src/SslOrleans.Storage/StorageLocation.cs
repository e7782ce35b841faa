using System.Text.RegularExpressions;

namespace SslOrleans.Storage;

/// <summary>
/// Where a run's checkpoints, a dataset or a tokenizer live: a local folder, or <c>az://CONTAINER/PREFIX</c> in the
/// Azure Blob storage account of <see cref="StorageOptions"/>. Parsing is the one place a location's syntax is checked.
/// </summary>
public sealed partial record StorageLocation
{
    public const string BlobScheme = "az://";

    private StorageLocation(string text, string? container, string prefix)
    {
        Text = text;
        Container = container;
        Prefix = prefix;
    }

    /// <summary>As the user wrote it (a local folder made absolute).</summary>
    public string Text { get; }

    /// <summary>The blob container; null for a local folder.</summary>
    public string? Container { get; }

    /// <summary>Blob names under this location start with <c>Prefix/</c>; empty for the container's root.</summary>
    public string Prefix { get; }

    public bool IsBlob => Container is not null;

    public static bool IsBlobText(string? text) => text is not null && text.StartsWith(BlobScheme, StringComparison.Ordinal);

    /// <param name="what">The flag or key the location came from, named in errors (e.g. "--out").</param>
    public static StorageLocation Parse(string text, string what = "location")
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{what}: empty; give a folder or az://CONTAINER/PREFIX");
        if (!IsBlobText(text)) return new StorageLocation(Path.GetFullPath(text), null, "");
        var rest = text[BlobScheme.Length..];
        int slash = rest.IndexOf('/');
        var container = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        // https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
        if (!ContainerName().IsMatch(container) || container.Contains("--"))
            throw new ArgumentException($"{what}: '{text}': container '{container}' is not a valid blob container name " +
                                        "(3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)");
        if (prefix.Split('/').Any(p => p is "." or ".." || (p.Length == 0 && prefix.Length > 0)))
            throw new ArgumentException($"{what}: '{text}': the prefix '{prefix}' has an empty, '.' or '..' segment");
        return new StorageLocation($"{BlobScheme}{container}{(prefix.Length > 0 ? "/" + prefix : "")}", container, prefix);
    }

    /// <summary>The blob name of <paramref name="relative"/> ("step-00000010/manifest.json") under this location.</summary>
    public string BlobName(string relative) => Prefix.Length == 0 ? relative : $"{Prefix}/{relative}";

    /// <summary>The local path of <paramref name="relative"/> under this folder.</summary>
    public string LocalPath(string relative) => Path.Combine(Text, relative);

    public override string ToString() => Text;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}
