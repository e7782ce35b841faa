using System.Runtime.InteropServices;

namespace SslOrleans.Grains.Compute;

/// <summary>Float vectors cross grains as bytes: Orleans writes byte[] as one block, float[] element by element.</summary>
public static class FloatBytes
{
    public static byte[] ToBytes(ReadOnlySpan<float> values) => MemoryMarshal.AsBytes(values).ToArray();

    public static ReadOnlySpan<float> AsFloats(byte[] bytes)
    {
        if (bytes.Length % sizeof(float) != 0) throw new ArgumentException($"payload of {bytes.Length} bytes is not a whole number of floats");
        return MemoryMarshal.Cast<byte, float>(bytes);
    }

    /// <summary>Cuts a float range into pieces of at most <paramref name="chunkBytes"/> bytes: (offset, count) in floats.</summary>
    public static IEnumerable<(long Offset, int Count)> Chunks(long total, int chunkBytes)
    {
        int per = Math.Max(1, chunkBytes / sizeof(float));
        for (long o = 0; o < total; o += per) yield return (o, (int)Math.Min(per, total - o));
        if (total == 0) yield return (0, 0);
    }
}
