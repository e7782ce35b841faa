namespace SslOrleans.Core.Data.Images;

/// <summary>
/// The split rule shared by the image folder and the tar shards: a root with both <c>train/</c> and <c>test/</c>
/// (or <c>val/</c>) subfolders holds two splits, anything else is one "train" split and has no test split.
/// </summary>
internal static class DatasetSplits
{
    public const string Train = "train";
    public const string Test = "test";

    /// <summary>The folder that holds <paramref name="split"/> of the dataset at <paramref name="root"/>.</summary>
    public static string Resolve(string format, string root, string split)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(split);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"{format}: dataset folder {root} does not exist");
        }

        var trainDirectory = Path.Combine(root, Train);
        var testDirectory = TestDirectory(root);
        bool hasSplits = Directory.Exists(trainDirectory) && testDirectory is not null;
        return split switch
        {
            Train => hasSplits ? trainDirectory : root,
            Test or "val" when hasSplits => testDirectory!,
            Test or "val" => throw new ArgumentException(
                $"{format}: {root} has no {split} split: it lacks train/ and test/ (or val/) subfolders, so the whole folder is the train split",
                nameof(split)),
            _ => throw new ArgumentException(
                $"{format}: unknown split \"{split}\" for {root}; the splits are train and test (test/ or val/ beside train/)",
                nameof(split)),
        };
    }

    /// <summary>Whether <paramref name="root"/> is laid out as train/ and test/ (or val/) subfolders.</summary>
    public static bool HasSplitFolders(string root) =>
        Directory.Exists(Path.Combine(root, Train)) && TestDirectory(root) is not null;

    /// <summary>root/test, else root/val, else null.</summary>
    public static string? TestDirectory(string root)
    {
        foreach (var name in new[] { Test, "val" })
        {
            var path = Path.Combine(root, name);
            if (Directory.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>Dot-files and dot-folders are ignored everywhere, as ls and torchvision's loaders do.</summary>
    public static bool IsHidden(string name) => name.StartsWith('.');
}
