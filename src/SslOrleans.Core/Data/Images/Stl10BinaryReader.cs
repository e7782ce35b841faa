namespace SslOrleans.Core.Data.Images;

/// <summary>
/// STL-10's binary version: train_X.bin / train_y.bin (5000), test_X.bin / test_y.bin (8000) and unlabeled_X.bin
/// (100000), in ROOT or ROOT/stl10_binary. Each image is 96×96×3 bytes stored channel by channel and, within a
/// channel, column by column (the official loader transposes them); labels 1..10 in the _y files become 0..9.
/// Splits "train", "test", "unlabeled" (Classes 0, labels -1) and "train+unlabeled" (train first, then the
/// unlabelled images with label -1). Images are read by offset, never all held in memory.
/// </summary>
public sealed class Stl10BinaryReader : ISampleReader
{
    private const string Format = "stl10";
    private const int Side = 96;
    private const int ImageBytes = 3 * Side * Side;
    private const int LabelledClasses = 10;

    private readonly List<FixedRecordFile> _files = [];
    private readonly int[] _firstSample;
    private readonly int[] _labels;

    public Stl10BinaryReader(string root, string split)
    {
        string[] parts = split switch
        {
            "train" => ["train"],
            "test" => ["test"],
            "unlabeled" => ["unlabeled"],
            "train+unlabeled" => ["train", "unlabeled"],
            _ => throw new ArgumentException(
                $"{Format}: unknown split \"{split}\"; the splits are train, test, unlabeled and train+unlabeled", nameof(split)),
        };

        var folder = BinaryDatasetFiles.Folder(Format, root, "stl10_binary", $"{parts[0]}_X.bin");
        Name = $"{Format}:{folder}/{split}";
        var labels = new List<int>();
        try
        {
            foreach (var part in parts)
            {
                var images = new FixedRecordFile(Format, BinaryDatasetFiles.Require(Format, folder, $"{part}_X.bin"), ImageBytes);
                _files.Add(images);
                labels.AddRange(part == "unlabeled" ? Enumerable.Repeat(-1, images.Count) : ReadLabels(folder, part, images.Count));
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        _firstSample = new int[_files.Count];
        for (int f = 1; f < _files.Count; f++)
        {
            _firstSample[f] = _firstSample[f - 1] + _files[f - 1].Count;
        }

        _labels = [.. labels];
        ClassNames = split == "unlabeled" ? [] : BinaryDatasetFiles.ClassNames(Format, folder, "class_names.txt", LabelledClasses);
    }

    public string Name { get; }

    public int Count => _labels.Length;

    public int Classes => ClassNames.Count;

    public IReadOnlyList<string> ClassNames { get; }

    public int Label(int index) => _labels[CheckIndex(index)];

    public string Describe(int index)
    {
        var (file, record) = Locate(index);
        return $"{file.Path}#{record}";
    }

    public void Read(int index, int channels, int size, Span<byte> destination)
    {
        var (file, record) = Locate(index);
        var stored = new byte[ImageBytes];
        try
        {
            file.Read(record, 0, stored);
        }
        catch (IOException e)
        {
            throw new BadSampleException($"{file.Path}#{record}", $"cannot be read ({e.Message})", e);
        }

        // Column-major within each channel: stored[c][x][y] is the pixel at row y, column x.
        var planes = new byte[ImageBytes];
        for (int c = 0; c < 3; c++)
        {
            int plane = c * Side * Side;
            for (int x = 0; x < Side; x++)
            {
                for (int y = 0; y < Side; y++)
                {
                    planes[plane + y * Side + x] = stored[plane + x * Side + y];
                }
            }
        }

        ImageDecoding.FromPlanes(planes, Side, Side, channels, size, destination);
    }

    public void Dispose()
    {
        foreach (var file in _files)
        {
            file.Dispose();
        }
    }

    private static int[] ReadLabels(string folder, string part, int images)
    {
        var path = BinaryDatasetFiles.Require(Format, folder, $"{part}_y.bin");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != images)
        {
            throw new InvalidDataException($"{Format}: {path} has {bytes.Length} labels, but {part}_X.bin has {images} images");
        }

        int bad = Array.FindIndex(bytes, label => label is < 1 or > LabelledClasses);
        if (bad >= 0)
        {
            throw new InvalidDataException($"{Format}: {path} label {bad} is {bytes[bad]}, not in 1..{LabelledClasses}");
        }

        return [.. bytes.Select(label => label - 1)];
    }

    private (FixedRecordFile File, int Record) Locate(int index) => FixedRecordFile.Locate(_files, _firstSample, CheckIndex(index));

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)_labels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name}: sample index {index} is outside [0, {_labels.Length})");
        }

        return index;
    }
}
