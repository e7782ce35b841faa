using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SslOrleans.Grains.Shards;

/// <summary>
/// shard-k.bin: "SSLSHARD", format (int32), version, shard index, parameter / second-moment / target / buffer
/// lengths (int64 each, little-endian), then float32 parameters, momentum, second moment (AdamW only, else
/// empty), target, buffers. Format 1 (before AdamW) had no second-moment length and is still read.
/// </summary>
public sealed record ShardFile(long Version, int Index, float[] Parameters, float[] Momentum, float[] Variance, float[] Target, float[] Buffers)
{
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("SSLSHARD");
    private const int Format = 2;
    private const int FixedBytes = 8 + 4 + 8 + 4;

    private static int HeaderBytes(int format) => FixedBytes + 8 * (format == 1 ? 3 : 4);

    public byte[] ToBytes()
    {
        long floats = Parameters.Length * 2L + Variance.Length + Target.Length + Buffers.Length;
        int header = HeaderBytes(Format);
        var bytes = new byte[header + floats * sizeof(float)];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], Format);
        BinaryPrimitives.WriteInt64LittleEndian(span[12..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(span[20..], Index);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], Parameters.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[32..], Variance.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[40..], Target.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[48..], Buffers.Length);
        int o = header;
        foreach (var part in new[] { Parameters, Momentum, Variance, Target, Buffers })
        {
            MemoryMarshal.AsBytes(part.AsSpan()).CopyTo(span[o..]);
            o += part.Length * sizeof(float);
        }
        return bytes;
    }

    public static ShardFile Parse(byte[] bytes, string source)
    {
        var span = bytes.AsSpan();
        if (bytes.Length < HeaderBytes(1) || !span[..8].SequenceEqual(Magic))
            throw new InvalidDataException($"{source}: not a shard file (no SSLSHARD header)");
        int format = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
        if (format is not (1 or Format)) throw new InvalidDataException($"{source}: shard format {format}, this build reads 1 and {Format}");
        int header = HeaderBytes(format);
        if (bytes.Length < header) throw new InvalidDataException($"{source}: {bytes.Length} bytes, shorter than its header");
        long version = BinaryPrimitives.ReadInt64LittleEndian(span[12..]);
        int index = BinaryPrimitives.ReadInt32LittleEndian(span[20..]);
        long p = BinaryPrimitives.ReadInt64LittleEndian(span[24..]);
        int at = 32;
        long v = 0;
        if (format != 1)
        {
            v = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
            at += 8;
        }
        long t = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        long b = BinaryPrimitives.ReadInt64LittleEndian(span[(at + 8)..]);
        long expected = header + (2 * p + v + t + b) * sizeof(float);
        if (bytes.Length != expected) throw new InvalidDataException($"{source}: {bytes.Length} bytes, the header announces {expected}");
        int o = header;
        float[] Take(long n)
        {
            var a = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(o, (int)n * sizeof(float))).ToArray();
            o += (int)n * sizeof(float);
            return a;
        }
        return new ShardFile(version, index, Take(p), Take(p), Take(v), Take(t), Take(b));
    }
}
