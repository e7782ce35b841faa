using System.Collections.Concurrent;

namespace SslOrleans.Core.Data;

/// <summary>
/// Loads Fashion-MNIST (60000 train / 10000 test grey 28×28 images, 10 classes) from the four idx files,
/// gzipped or plain. Nothing is downloaded: the data comes from the Debian package or a directory the user
/// filled, so runs are reproducible offline and errors say exactly which file to provide.
/// </summary>
public static class FashionMnist
{
    public const string DebianPackage = "dataset-fashion-mnist";
    public const string OfficialDownload = "https://github.com/zalandoresearch/fashion-mnist";

    public static readonly string[] DefaultDirectories = ["/usr/share/datasets/fashion-mnist"];

    private const int Classes = 10;

    private static readonly string InstallHint =
        $"Install it with `apt-get install {DebianPackage}` (the Debian package, files in {string.Join(" or ", DefaultDirectories)}), " +
        $"or download the four idx files from {OfficialDownload} into a directory DIR and pass --data DIR.";

    // Keyed by split and full directory path; Lazy makes concurrent first calls share one load.
    private static readonly ConcurrentDictionary<(string Split, string Directory), Lazy<ImageDataset>> Cache = new();

    public static ImageDataset LoadTrain(string? dataDir = null) => Load(Split.Train, ResolveDirectory(Split.Train, dataDir));

    public static ImageDataset LoadTest(string? dataDir = null) => Load(Split.Test, ResolveDirectory(Split.Test, dataDir));

    /// <summary>Like <see cref="LoadTrain"/>, but one shared copy per directory for the whole process.</summary>
    public static ImageDataset LoadTrainCached(string? dataDir) => LoadCached(Split.Train, dataDir);

    /// <summary>Like <see cref="LoadTest"/>, but one shared copy per directory for the whole process.</summary>
    public static ImageDataset LoadTestCached(string? dataDir) => LoadCached(Split.Test, dataDir);

    private static ImageDataset LoadCached(Split split, string? dataDir)
    {
        var directory = ResolveDirectory(split, dataDir);
        var key = (split.Prefix, directory);
        var lazy = Cache.GetOrAdd(key, k => new Lazy<ImageDataset>(() => Load(split, k.Directory), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // Lazy would cache the failure forever; drop it so a later call sees files installed meanwhile.
            Cache.TryRemove(new KeyValuePair<(string, string), Lazy<ImageDataset>>(key, lazy));
            throw;
        }
    }

    private static ImageDataset Load(Split split, string directory)
    {
        var imagesPath = FindFile(directory, split.Images);
        var labelsPath = FindFile(directory, split.Labels);
        var images = ReadWithHint(imagesPath);
        var labels = ReadWithHint(labelsPath);

        if (images.Dimensions.Length != 3)
        {
            throw Corrupt(imagesPath, $"expected 3 dimensions [count, height, width], found [{string.Join(", ", images.Dimensions)}]");
        }

        if (labels.Dimensions.Length != 1)
        {
            throw Corrupt(labelsPath, $"expected 1 dimension [count], found [{string.Join(", ", labels.Dimensions)}]");
        }

        if (images.Dimensions[0] != labels.Dimensions[0])
        {
            throw Corrupt(
                labelsPath,
                $"holds {labels.Dimensions[0]} labels but {imagesPath} holds {images.Dimensions[0]} images");
        }

        int bad = Array.FindIndex(labels.Data, l => l >= Classes);
        if (bad >= 0)
        {
            throw Corrupt(labelsPath, $"label {labels.Data[bad]} at index {bad} is not below {Classes}");
        }

        return new ImageDataset(
            $"fashion-mnist/{split.Prefix}", channels: 1, images.Dimensions[1], images.Dimensions[2],
            images.Data, labels.Data, Classes);
    }

    /// <summary>The directory to load from: the given one, or the first default directory holding the split.</summary>
    /// <summary>The four files of the dataset (train and test images and labels, gzipped or not) where loading would find
    /// them; <see cref="DatasetNotFoundException"/> names the first one missing.</summary>
    public static string[] Files(string? dataDir = null) =>
        [.. new[] { Split.Train, Split.Test }.SelectMany(split =>
        {
            var directory = ResolveDirectory(split, dataDir);
            return new[] { FindFile(directory, split.Images), FindFile(directory, split.Labels) };
        })];

    private static string ResolveDirectory(Split split, string? dataDir)
    {
        if (dataDir is not null)
        {
            return FullPath(dataDir);
        }

        foreach (var candidate in DefaultDirectories)
        {
            if (TryFindFile(candidate, split.Images) is not null)
            {
                return FullPath(candidate);
            }
        }

        // None has it: Load will then report the missing file in the first (the documented) location.
        return FullPath(DefaultDirectories[0]);
    }

    // One spelling per directory ("data", "./data/", "/abs/data") so the cache holds one copy of it.
    private static string FullPath(string directory) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));

    private static string FindFile(string directory, string baseName)
    {
        return TryFindFile(directory, baseName) ?? throw new DatasetNotFoundException(
            $"Fashion-MNIST file not found: {Path.Combine(directory, baseName + ".gz")} " +
            $"(nor the ungzipped {Path.Combine(directory, baseName)}). {InstallHint}",
            Path.Combine(directory, baseName + ".gz"));
    }

    private static string? TryFindFile(string directory, string baseName)
    {
        var gz = Path.Combine(directory, baseName + ".gz");
        if (File.Exists(gz))
        {
            return gz;
        }

        var plain = Path.Combine(directory, baseName);
        return File.Exists(plain) ? plain : null;
    }

    private static IdxArray ReadWithHint(string path)
    {
        try
        {
            return IdxReader.Read(path);
        }
        catch (IdxFormatException e)
        {
            throw new IdxFormatException($"{e.Message}. The Fashion-MNIST file looks damaged: {InstallHint}", e);
        }
    }

    private static IdxFormatException Corrupt(string path, string problem) =>
        new($"{path}: {problem}. The Fashion-MNIST files look damaged or mixed up: {InstallHint}");

    private sealed record Split(string Prefix)
    {
        public static readonly Split Train = new("train");
        public static readonly Split Test = new("t10k");

        public string Images => $"{Prefix}-images-idx3-ubyte";

        public string Labels => $"{Prefix}-labels-idx1-ubyte";
    }
}
