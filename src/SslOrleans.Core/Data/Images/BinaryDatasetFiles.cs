namespace SslOrleans.Core.Data.Images;

/// <summary>Finding the files of the binary formats, which may sit in ROOT or in the folder their archive unpacks to.</summary>
internal static class BinaryDatasetFiles
{
    /// <summary>The first of ROOT and ROOT/<paramref name="archiveFolder"/> that holds <paramref name="marker"/>.</summary>
    public static string Folder(string format, string root, string archiveFolder, string marker)
    {
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"{format}: dataset folder {root} does not exist");
        }

        var nested = Path.Combine(root, archiveFolder);
        foreach (var folder in new[] { root, nested })
        {
            if (File.Exists(Path.Combine(folder, marker)))
            {
                return folder;
            }
        }

        throw new DatasetNotFoundException($"{format}: {marker} is neither in {root} nor in {nested}", Path.Combine(root, marker));
    }

    /// <summary><paramref name="folder"/>/<paramref name="name"/>, which must exist.</summary>
    public static string Require(string format, string folder, string name)
    {
        var path = Path.Combine(folder, name);
        return File.Exists(path) ? path : throw new DatasetNotFoundException($"{format}: {path} is missing", path);
    }

    /// <summary>
    /// The non-empty lines of an optional names file, which must name exactly <paramref name="classes"/> classes;
    /// the label numbers when the file is absent.
    /// </summary>
    public static IReadOnlyList<string> ClassNames(string format, string folder, string fileName, int classes)
    {
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
        {
            return Enumerable.Range(0, classes).Select(label => label.ToString()).ToArray();
        }

        var names = File.ReadAllLines(path).Select(line => line.Trim()).Where(line => line.Length > 0).ToArray();
        if (names.Length != classes)
        {
            throw new InvalidDataException($"{format}: {path} names {names.Length} classes, not {classes}");
        }

        return names;
    }
}
