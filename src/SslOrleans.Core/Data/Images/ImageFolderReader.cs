namespace SslOrleans.Core.Data.Images;

/// <summary>
/// An image folder as torchvision's ImageFolder reads it: <c>ROOT/&lt;class&gt;/&lt;image&gt;</c>, classes the
/// subfolder names sorted ordinally, files (also in nested folders) sorted ordinally by relative path so the order
/// never depends on the file system. A folder of loose images without class folders is unlabelled. Splits follow
/// <see cref="DatasetSplits"/>: ROOT/train and ROOT/test (or val), else the whole ROOT is "train".
/// Any non-hidden file that is not an image (by extension) is still a sample, one that reads as bad, so that a
/// dataset check reports it instead of it vanishing silently.
/// </summary>
public sealed class ImageFolderReader : ISampleReader
{
    private readonly string[] _files;
    private readonly int[] _labels;

    public ImageFolderReader(string root, string split)
    {
        var directory = DatasetSplits.Resolve("imagefolder", root, split);
        Name = $"imagefolder:{directory}";

        // With split folders, classes are the union over both splits, so train and test labels agree even when a
        // class is missing from one of them.
        var classNames = ClassFolders(directory);
        if (classNames.Count > 0 && DatasetSplits.HasSplitFolders(root))
        {
            classNames = ClassFolders(Path.Combine(root, DatasetSplits.Train))
                .Union(ClassFolders(DatasetSplits.TestDirectory(root)!))
                .Order(StringComparer.Ordinal)
                .ToList();
        }

        var files = new List<string>();
        var labels = new List<int>();
        if (classNames.Count == 0)
        {
            files.AddRange(FilesIn(directory, recursive: false));
            if (files.Count == 0)
            {
                throw new InvalidDataException($"imagefolder: {directory} has neither class folders nor images");
            }

            labels.AddRange(Enumerable.Repeat(-1, files.Count));
        }
        else
        {
            var loose = FilesIn(directory, recursive: false).Where(ImageDecoding.IsImageFileName).ToList();
            if (loose.Count > 0)
            {
                throw new InvalidDataException(
                    $"imagefolder: {directory} has class folders and also loose images such as {loose[0]}; put every image in its class folder");
            }

            for (int label = 0; label < classNames.Count; label++)
            {
                var classDirectory = Path.Combine(directory, classNames[label]);
                if (!Directory.Exists(classDirectory))
                {
                    continue; // a class only the other split has
                }

                var classFiles = FilesIn(classDirectory, recursive: true);
                if (classFiles.Count == 0)
                {
                    throw new InvalidDataException($"imagefolder: class folder {classDirectory} is empty");
                }

                files.AddRange(classFiles);
                labels.AddRange(Enumerable.Repeat(label, classFiles.Count));
            }
        }

        _files = [.. files];
        _labels = [.. labels];
        ClassNames = classNames;
    }

    public string Name { get; }

    public int Count => _files.Length;

    public int Classes => ClassNames.Count;

    public IReadOnlyList<string> ClassNames { get; }

    public int Label(int index) => _labels[CheckIndex(index)];

    public string Describe(int index) => _files[CheckIndex(index)];

    /// <summary>Whether sample <paramref name="index"/> has an image extension (the others always read as bad).</summary>
    public bool IsImageFile(int index) => ImageDecoding.IsImageFileName(_files[CheckIndex(index)]);

    public void Read(int index, int channels, int size, Span<byte> destination)
    {
        var path = Describe(index);
        if (!ImageDecoding.IsImageFileName(path))
        {
            throw new BadSampleException(
                path, $"not an image file (extension \"{Path.GetExtension(path)}\"; images are {string.Join(" ", ImageDecoding.Extensions)})");
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BadSampleException(path, $"cannot be read ({e.Message})", e);
        }

        ImageDecoding.Decode(bytes, path, channels, size, destination);
    }

    public void Dispose()
    {
        // Files are opened per read: nothing to release.
    }

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)_files.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name}: sample index {index} is outside [0, {_files.Length})");
        }

        return index;
    }

    private static List<string> ClassFolders(string directory) =>
        Directory.EnumerateDirectories(directory)
            .Select(Path.GetFileName)
            .Where(name => !DatasetSplits.IsHidden(name!))
            .Select(name => name!)
            .Order(StringComparer.Ordinal)
            .ToList();

    // Ordinal by path relative to the folder; hidden files and anything under a hidden folder skipped.
    private static List<string> FilesIn(string directory, bool recursive)
    {
        var option = recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly;
        return Directory.EnumerateFiles(directory, "*", option)
            .Where(path => !Path.GetRelativePath(directory, path)
                .Split(Path.DirectorySeparatorChar)
                .Any(DatasetSplits.IsHidden))
            .Order(StringComparer.Ordinal)
            .ToList();
    }
}
