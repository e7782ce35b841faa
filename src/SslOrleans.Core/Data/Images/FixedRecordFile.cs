using Microsoft.Win32.SafeHandles;

namespace SslOrleans.Core.Data.Images;

/// <summary>
/// A binary file of fixed-size records (CIFAR batches, STL-10's _X and _y files), read by offset with
/// <see cref="RandomAccess"/>: thread-safe, and nothing held in memory beyond what the caller asks for.
/// </summary>
internal sealed class FixedRecordFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    public FixedRecordFile(string format, string path, int recordBytes)
    {
        Path = path;
        RecordBytes = recordBytes;
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        long length = RandomAccess.GetLength(_handle);
        if (length == 0 || length % recordBytes != 0)
        {
            _handle.Dispose();
            throw new InvalidDataException(
                $"{format}: {path} has {length} bytes, which is not a whole number of {recordBytes}-byte records; the file is truncated or of another format");
        }

        Count = checked((int)(length / recordBytes));
    }

    public string Path { get; }

    public int RecordBytes { get; }

    public int Count { get; }

    /// <summary>Fills <paramref name="destination"/> from record <paramref name="record"/>, starting <paramref name="skip"/> bytes in.</summary>
    public void Read(int record, int skip, Span<byte> destination)
    {
        long offset = (long)record * RecordBytes + skip;
        int done = 0;
        while (done < destination.Length)
        {
            int read = RandomAccess.Read(_handle, destination[done..], offset + done);
            if (read == 0)
            {
                throw new EndOfStreamException($"{Path} ended at offset {offset + done}, inside record {record}; was it truncated while open?");
            }

            done += read;
        }
    }

    /// <summary>Every record's bytes [skip, skip + width), in one streamed pass: labels stored inside the records.</summary>
    public byte[] ReadColumn(int skip, int width)
    {
        var column = new byte[(long)Count * width];
        var buffer = new byte[Math.Max(1, (1 << 20) / RecordBytes) * RecordBytes];
        int record = 0;
        while (record < Count)
        {
            int records = Math.Min(buffer.Length / RecordBytes, Count - record);
            Read(record, 0, buffer.AsSpan(0, records * RecordBytes));
            for (int r = 0; r < records; r++)
            {
                buffer.AsSpan(r * RecordBytes + skip, width).CopyTo(column.AsSpan((record + r) * width));
            }

            record += records;
        }

        return column;
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>The file of several in a row that holds sample <paramref name="index"/>, and its record there;
    /// <paramref name="firstSample"/> gives each file's first sample. The caller has checked the index.</summary>
    public static (FixedRecordFile File, int Record) Locate(IReadOnlyList<FixedRecordFile> files, int[] firstSample, int index)
    {
        int f = files.Count - 1;
        while (firstSample[f] > index)
        {
            f--;
        }

        return (files[f], index - firstSample[f]);
    }
}
