using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SslOrleans.Grains.Shards;

/// <summary>
/// shard-k.bin: "SSLSHARD", format (int32), version, shard index, parameter / target / buffer lengths
/// (int64 each, little-endian), then float32 parameters, momentum, target, buffers.
/// </summary>
public sealed record ShardFile(long Version, int Index, float[] Parameters, float[] Momentum, float[] Target, float[] Buffers)
{
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("SSLSHARD");
    private const int Format = 1;
    private const int HeaderBytes = 8 + 4 + 8 + 4 + 8 * 3;

    public byte[] ToBytes()
    {
        long floats = Parameters.Length * 2L + Target.Length + Buffers.Length;
        var bytes = new byte[HeaderBytes + floats * sizeof(float)];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], Format);
        BinaryPrimitives.WriteInt64LittleEndian(span[12..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(span[20..], Index);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], Parameters.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[32..], Target.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[40..], Buffers.Length);
        int o = HeaderBytes;
        foreach (var part in new[] { Parameters, Momentum, Target, Buffers })
        {
            MemoryMarshal.AsBytes(part.AsSpan()).CopyTo(span[o..]);
            o += part.Length * sizeof(float);
        }
        return bytes;
    }

    public static ShardFile Parse(byte[] bytes, string source)
    {
        var span = bytes.AsSpan();
        if (bytes.Length < HeaderBytes || !span[..8].SequenceEqual(Magic))
            throw new InvalidDataException($"{source}: not a shard file (no SSLSHARD header)");
        int format = BinaryPrimitives.ReadInt32LittleEndian(span[8..]);
        if (format != Format) throw new InvalidDataException($"{source}: shard format {format}, this build reads {Format}");
        long version = BinaryPrimitives.ReadInt64LittleEndian(span[12..]);
        int index = BinaryPrimitives.ReadInt32LittleEndian(span[20..]);
        long p = BinaryPrimitives.ReadInt64LittleEndian(span[24..]);
        long t = BinaryPrimitives.ReadInt64LittleEndian(span[32..]);
        long b = BinaryPrimitives.ReadInt64LittleEndian(span[40..]);
        long expected = HeaderBytes + (2 * p + t + b) * sizeof(float);
        if (bytes.Length != expected) throw new InvalidDataException($"{source}: {bytes.Length} bytes, the header announces {expected}");
        int o = HeaderBytes;
        float[] Take(long n)
        {
            var a = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(o, (int)n * sizeof(float))).ToArray();
            o += (int)n * sizeof(float);
            return a;
        }
        return new ShardFile(version, index, Take(p), Take(p), Take(t), Take(b));
    }
}
