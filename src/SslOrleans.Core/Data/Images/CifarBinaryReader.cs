namespace SslOrleans.Core.Data.Images;

/// <summary>
/// The CIFAR binary versions. CIFAR-10: data_batch_1.bin … data_batch_5.bin (train) and test_batch.bin (test), each
/// record a label byte and 3072 bytes of R, G, B planes of 32×32; class names from batches.meta.txt when present.
/// CIFAR-100: train.bin and test.bin, each record a coarse and a fine label byte and the same 3072 bytes; the fine
/// label (100 classes) is used, names from fine_label_names.txt when present. Files sit in ROOT or in
/// ROOT/cifar-10-batches-bin (ROOT/cifar-100-binary). Labels are read once; pixels by offset when asked.
/// </summary>
public sealed class CifarBinaryReader : ISampleReader
{
    private const int Side = 32;
    private const int ImageBytes = 3 * Side * Side;

    private readonly FixedRecordFile[] _files;
    private readonly int[] _firstSample; // per file, the index of its first sample
    private readonly byte[] _labels;
    private readonly int _labelBytes;

    public CifarBinaryReader(string root, string split, CifarVariant variant)
    {
        var format = variant == CifarVariant.Cifar10 ? "cifar10" : "cifar100";
        string[] names = (variant, split) switch
        {
            (CifarVariant.Cifar10, "train") => [.. Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin")],
            (CifarVariant.Cifar10, "test") => ["test_batch.bin"],
            (CifarVariant.Cifar100, "train") => ["train.bin"],
            (CifarVariant.Cifar100, "test") => ["test.bin"],
            _ => throw new ArgumentException($"{format}: unknown split \"{split}\"; the splits are train and test", nameof(split)),
        };

        var folder = BinaryDatasetFiles.Folder(format, root, variant == CifarVariant.Cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary", names[0]);
        Name = $"{format}:{folder}/{split}";
        _labelBytes = variant == CifarVariant.Cifar10 ? 1 : 2;
        int classes = variant == CifarVariant.Cifar10 ? 10 : 100;

        var files = new List<FixedRecordFile>();
        try
        {
            foreach (var name in names)
            {
                files.Add(new FixedRecordFile(format, BinaryDatasetFiles.Require(format, folder, name), _labelBytes + ImageBytes));
            }
        }
        catch
        {
            files.ForEach(file => file.Dispose());
            throw;
        }

        _files = [.. files];
        _firstSample = new int[_files.Length];
        var labels = new List<byte>();
        for (int f = 0; f < _files.Length; f++)
        {
            _firstSample[f] = labels.Count;

            // The last label byte is the one used: CIFAR-10's only one, CIFAR-100's fine label after the coarse one.
            var fileLabels = _files[f].ReadColumn(_labelBytes - 1, 1);
            int bad = Array.FindIndex(fileLabels, label => label >= classes);
            if (bad >= 0)
            {
                Dispose();
                throw new InvalidDataException($"{format}: {_files[f].Path} record {bad} has label {fileLabels[bad]}, not below {classes}");
            }

            labels.AddRange(fileLabels);
        }

        _labels = [.. labels];
        ClassNames = BinaryDatasetFiles.ClassNames(
            format, folder, variant == CifarVariant.Cifar10 ? "batches.meta.txt" : "fine_label_names.txt", classes);
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
        Span<byte> planes = stackalloc byte[ImageBytes];
        try
        {
            file.Read(record, _labelBytes, planes);
        }
        catch (IOException e)
        {
            throw new BadSampleException($"{file.Path}#{record}", $"cannot be read ({e.Message})", e);
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
