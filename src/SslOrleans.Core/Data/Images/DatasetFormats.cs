namespace SslOrleans.Core.Data.Images;

/// <summary>The dataset formats by name, as a configuration or the command line gives them.</summary>
public static class DatasetFormats
{
    public const string ImageFolder = "imagefolder";
    public const string Tar = "tar";
    public const string Cifar10 = "cifar10";
    public const string Cifar100 = "cifar100";
    public const string Stl10 = "stl10";

    public static IReadOnlyList<string> Known { get; } = [ImageFolder, Tar, Cifar10, Cifar100, Stl10];

    /// <summary>Opens <paramref name="split"/> of the dataset at <paramref name="root"/> in <paramref name="format"/>.</summary>
    public static ISampleReader Open(string format, string root, string split) => format switch
    {
        ImageFolder => new ImageFolderReader(root, split),
        Tar => new TarShardReader(root, split),
        Cifar10 => new CifarBinaryReader(root, split, CifarVariant.Cifar10),
        Cifar100 => new CifarBinaryReader(root, split, CifarVariant.Cifar100),
        Stl10 => new Stl10BinaryReader(root, split),
        _ => throw UnknownFormat(format),
    };

    /// <summary>The format of the dataset at <paramref name="root"/> by its files: tar shards (or their index.json), the
    /// CIFAR-10, CIFAR-100 or STL-10 binaries (in the root or the folder their archive unpacks to), else an image folder.</summary>
    public static string Detect(string root)
    {
        bool Has(string name, params string[] folders) =>
            folders.Prepend("").Any(folder => File.Exists(Path.Combine(root, folder, name)));
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"dataset folder {root} does not exist");
        if (Has(TarShardIndex.FileName) || new[] { root, Path.Combine(root, DatasetSplits.Train) }
                .Any(d => Directory.Exists(d) && Directory.EnumerateFiles(d, "*.tar").Any())) return Tar;
        if (Has("data_batch_1.bin", "cifar-10-batches-bin")) return Cifar10;
        if (Has("train.bin", "cifar-100-binary")) return Cifar100;
        if (Has("train_X.bin", "stl10_binary") || Has("unlabeled_X.bin", "stl10_binary")) return Stl10;
        return ImageFolder;
    }

    /// <summary>Whether the dataset at <paramref name="root"/> has a test split: always for the binary formats, for a
    /// folder or shards when train/ and test/ (or val/) subfolders divide it.</summary>
    public static bool HasTestSplit(string format, string root) => format switch
    {
        ImageFolder or Tar => DatasetSplits.HasSplitFolders(root),
        Cifar10 or Cifar100 or Stl10 => true,
        _ => throw UnknownFormat(format),
    };

    /// <summary>The side of the format's stored images (32 for CIFAR, 96 for STL-10); null when images vary (folders, tar).</summary>
    public static int? NativeSize(string format) => format switch
    {
        Cifar10 or Cifar100 => 32,
        Stl10 => 96,
        ImageFolder or Tar => null,
        _ => throw UnknownFormat(format),
    };

    private static ArgumentException UnknownFormat(string format) =>
        new($"unknown dataset format \"{format}\"; the formats are {string.Join(", ", Known)}", nameof(format));
}
