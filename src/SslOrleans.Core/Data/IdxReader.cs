using System.Buffers.Binary;
using System.IO.Compression;

namespace SslOrleans.Core.Data;

/// <summary>
/// Reads idx files (the MNIST container format: magic 0x00 0x00 TYPE NDIM, NDIM big-endian int32 sizes,
/// then the elements), gzipped or plain. Gzip is detected by its magic bytes rather than the file name,
/// so a file that was ungzipped but kept its ".gz" name (or vice versa) still loads.
/// </summary>
public static class IdxReader
{
    private const byte UnsignedByteType = 0x08;

    // Guards against absurd headers allocating huge arrays before we find out the data is missing.
    private const int MaxDimensions = 16;

    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"idx file not found: {path}", path);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path);
    }

    public static IdxArray Read(Stream stream, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(nameForErrors);

        var seekable = stream.CanSeek ? stream : Buffer(stream);
        long start = seekable.Position;
        Span<byte> magic = stackalloc byte[2];
        int got = ReadFully(seekable, magic);
        seekable.Position = start;

        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            using var gzip = new GZipStream(seekable, CompressionMode.Decompress, leaveOpen: true);
            try
            {
                return ReadIdx(gzip, nameForErrors);
            }
            catch (InvalidDataException e)
            {
                // GZipStream reports damaged deflate data / headers as InvalidDataException.
                throw new IdxFormatException($"{nameForErrors}: corrupt gzip data ({e.Message})", e);
            }
        }

        return ReadIdx(seekable, nameForErrors);
    }

    private static IdxArray ReadIdx(Stream stream, string name)
    {
        Span<byte> header = stackalloc byte[4];
        int got = ReadFully(stream, header);
        if (got < 4)
        {
            throw new IdxFormatException($"{name}: truncated idx header (expected 4 magic bytes, found {got})");
        }

        if (header[0] != 0 || header[1] != 0 || header[3] == 0 || header[3] > MaxDimensions)
        {
            throw new IdxFormatException(
                $"{name}: not an idx file (wrong magic 0x{header[0]:x2}{header[1]:x2} {header[2]:x2} {header[3]:x2}; " +
                "expected 0x0000 08 0N with N the number of dimensions)");
        }

        if (header[2] != UnsignedByteType)
        {
            throw new IdxFormatException(
                $"{name}: unsupported idx element type 0x{header[2]:x2} ({TypeName(header[2])}); " +
                "only unsigned byte (0x08) is supported");
        }

        int rank = header[3];
        var dims = new int[rank];
        Span<byte> sizeBytes = stackalloc byte[4];
        long total = 1;
        for (int i = 0; i < rank; i++)
        {
            got = ReadFully(stream, sizeBytes);
            if (got < 4)
            {
                throw new IdxFormatException(
                    $"{name}: truncated idx header (expected {rank} dimension sizes, file ends in size {i})");
            }

            uint size = BinaryPrimitives.ReadUInt32BigEndian(sizeBytes);
            total *= size;
            if (size > int.MaxValue || total > Array.MaxLength)
            {
                throw new IdxFormatException($"{name}: idx dimensions too large ({total} elements in dimension {i})");
            }

            dims[i] = (int)size;
        }

        var data = new byte[total];
        int found = ReadFully(stream, data);
        if (found < data.Length)
        {
            throw new IdxFormatException(
                $"{name}: truncated idx file (expected {data.Length} bytes of data for shape " +
                $"[{string.Join(", ", dims)}], found {found})");
        }

        // Extra bytes mean the header does not describe the file: most likely a mixed-up or damaged download.
        Span<byte> probe = stackalloc byte[1];
        if (ReadFully(stream, probe) != 0)
        {
            throw new IdxFormatException(
                $"{name}: unexpected data after the {data.Length} bytes described by shape [{string.Join(", ", dims)}]");
        }

        return new IdxArray(dims, data);
    }

    private static int ReadFully(Stream stream, Span<byte> buffer) => stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    // Non-seekable streams (network, pipes) are buffered so we can peek at the gzip magic and rewind.
    private static MemoryStream Buffer(Stream stream)
    {
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }

    private static string TypeName(byte code) => code switch
    {
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "unknown type",
    };
}
