using System.Buffers.Binary;
using System.Text;

namespace SslOrleans.Core.Export;

/// <summary>
/// A zip archive of stored (uncompressed) entries, each entry's data starting on a 64-byte boundary of the file, as
/// PyTorch's own writer lays out torch.save files (caffe2/serialize/inline_container.cc): the padding is a local
/// extra field with id "FB". Aligned records let a reader map the file and use every tensor in place
/// (torch.load(mmap=True)). System.IO.Compression's ZipArchive cannot write extra fields, hence this writer.
/// Bytes are deterministic (a fixed 1980-01-01 timestamp), so the same tensors give the same file. No zip64:
/// archives over 4 GiB or 65,535 entries are refused (a backbone here is at most ~100 MB).
/// The stream is written sequentially and never sought, and is left open.
/// </summary>
internal sealed class StoredZipWriter(Stream stream)
{
    public const int Alignment = 64;

    private const int LocalHeaderSize = 30;
    private const int ExtraFieldHeaderSize = 4;
    private const ushort VersionNeeded = 20;
    private const ushort Utf8Names = 1 << 11;
    private const ushort DosDate1980 = (1 << 5) | 1; // 1980-01-01: month 1, day 1; the time is 00:00

    private readonly List<(byte[] Name, uint Crc, uint Size, uint Offset)> entries = [];
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private long position;
    private bool finished;

    public void Add(string name, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (finished) throw new InvalidOperationException("the zip archive is already finished");
        if (!names.Add(name)) throw new ArgumentException($"zip entry '{name}' is duplicated", nameof(name));
        if (entries.Count == ushort.MaxValue) throw new NotSupportedException($"a zip archive without zip64 holds at most {ushort.MaxValue} entries");
        var nameBytes = Encoding.UTF8.GetBytes(name);
        long dataStart = position + LocalHeaderSize + nameBytes.Length + ExtraFieldHeaderSize;
        int padding = (int)((Alignment - dataStart % Alignment) % Alignment);
        RequireUInt32(position + LocalHeaderSize + nameBytes.Length + ExtraFieldHeaderSize + padding + data.Length, name);
        uint crc = Crc32.Compute(data);

        var header = new byte[LocalHeaderSize + nameBytes.Length + ExtraFieldHeaderSize + padding];
        var h = header.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], VersionNeeded);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], Utf8Names);
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0); // stored
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], DosDate1980);
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)(ExtraFieldHeaderSize + padding));
        nameBytes.CopyTo(h[LocalHeaderSize..]);
        var extra = h[(LocalHeaderSize + nameBytes.Length)..];
        extra[0] = (byte)'F';
        extra[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(extra[2..], (ushort)padding);
        extra[ExtraFieldHeaderSize..].Fill((byte)'Z'); // PyTorch's filler

        entries.Add((nameBytes, crc, (uint)data.Length, (uint)position));
        stream.Write(header);
        stream.Write(data);
        position += header.Length + data.Length;
    }

    /// <summary>Writes the central directory and the end record; the archive is complete afterwards.</summary>
    public void Finish()
    {
        if (finished) return;
        finished = true;
        long directoryStart = position;
        foreach (var (name, crc, size, offset) in entries)
        {
            var record = new byte[46 + name.Length];
            var r = record.AsSpan();
            BinaryPrimitives.WriteUInt32LittleEndian(r, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(r[4..], VersionNeeded); // made by: MS-DOS attributes, version 2.0
            BinaryPrimitives.WriteUInt16LittleEndian(r[6..], VersionNeeded);
            BinaryPrimitives.WriteUInt16LittleEndian(r[8..], Utf8Names);
            BinaryPrimitives.WriteUInt16LittleEndian(r[12..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(r[14..], DosDate1980);
            BinaryPrimitives.WriteUInt32LittleEndian(r[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(r[20..], size);
            BinaryPrimitives.WriteUInt32LittleEndian(r[24..], size);
            BinaryPrimitives.WriteUInt16LittleEndian(r[28..], (ushort)name.Length);
            // Extra field, comment, disk number, attributes: all zero (the padding lives in the local header only).
            BinaryPrimitives.WriteUInt32LittleEndian(r[42..], offset);
            name.CopyTo(r[46..]);
            stream.Write(record);
            position += record.Length;
        }

        RequireUInt32(position, "the central directory");
        var end = new byte[22];
        var e = end.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(e, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(e[12..], (uint)(position - directoryStart));
        BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)directoryStart);
        stream.Write(end);
        position += end.Length;
    }

    private static void RequireUInt32(long end, string what)
    {
        if (end > uint.MaxValue) throw new NotSupportedException($"zip archive: {what} ends beyond 4 GiB, which needs zip64 (not written here)");
    }
}
