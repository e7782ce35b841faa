using System.Formats.Tar;
using System.Globalization;

namespace SslOrleans.Core.Data.Images;

/// <summary>
/// Writes one WebDataset shard: per sample <c>KEY.EXT</c> with the encoded image bytes unchanged and, when labelled,
/// <c>KEY.cls</c> with the label in ASCII. USTAR entries with a fixed time and mode, so the same input gives the same
/// bytes and the size is known in advance (<see cref="SampleBytes"/>).
/// </summary>
public sealed class TarShardWriter : IDisposable
{
    /// <summary>A tar ends with two zero blocks.</summary>
    public const long EndBytes = 2 * Block;

    private const long Block = 512;

    // A fixed time: shards are byte-reproducible, whatever the source files' times.
    private static readonly DateTimeOffset PackTime = DateTimeOffset.UnixEpoch;

    private readonly FileStream _file;
    private readonly TarWriter _writer;

    /// <summary>Creates the shard at <paramref name="path"/>; an existing file there is an error.</summary>
    public TarShardWriter(string path)
    {
        Path = path;
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        _writer = new TarWriter(_file, TarEntryFormat.Ustar, leaveOpen: false);
    }

    public string Path { get; }

    public int Samples { get; private set; }

    /// <summary>The shard's size once closed: the members so far plus the end blocks.</summary>
    public long Bytes { get; private set; } = EndBytes;

    /// <summary>What one sample adds to a shard: a header and padded data per member.</summary>
    public static long SampleBytes(long imageBytes, int label) =>
        MemberBytes(imageBytes) + (label >= 0 ? MemberBytes(LabelText(label).Length) : 0);

    /// <summary>Adds <c>KEY + extension</c> (extension with its dot) and, for a label ≥ 0, <c>KEY.cls</c>.</summary>
    public void Add(string key, string extension, byte[] image, int label)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        AddMember(key + extension, image);
        if (label >= 0)
        {
            AddMember(key + ".cls", System.Text.Encoding.ASCII.GetBytes(LabelText(label)));
        }

        Samples++;
        Bytes += SampleBytes(image.LongLength, label);
    }

    public void Dispose() => _writer.Dispose();

    private void AddMember(string name, byte[] data)
    {
        var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            DataStream = new MemoryStream(data, writable: false),
            ModificationTime = PackTime,
            Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
        };
        _writer.WriteEntry(entry);
    }

    private static string LabelText(int label) => label.ToString(CultureInfo.InvariantCulture);

    private static long MemberBytes(long dataBytes) => Block + (dataBytes + Block - 1) / Block * Block;
}
