using System.Runtime.InteropServices;

namespace SslOrleans.Grains.Compute;

/// <summary>Vectors cross grains as bytes: Orleans writes byte[] as one block, float[] element by element.</summary>
public static class TensorBytes
{
    public static byte[] ToBytes<T>(ReadOnlySpan<T> values) where T : unmanaged => MemoryMarshal.AsBytes(values).ToArray();

    public static ReadOnlySpan<T> As<T>(byte[] bytes) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        if (bytes.Length % size != 0) throw new ArgumentException($"payload of {bytes.Length} bytes is not a whole number of {typeof(T).Name} values");
        return MemoryMarshal.Cast<byte, T>(bytes);
    }

    /// <summary>Cuts <paramref name="total"/> values of <paramref name="elementBytes"/> bytes into pieces of at most <paramref name="chunkBytes"/>: (offset, count) in values.</summary>
    public static IEnumerable<(long Offset, int Count)> Chunks(long total, int chunkBytes, int elementBytes)
    {
        int per = Math.Max(1, chunkBytes / elementBytes);
        for (long o = 0; o < total; o += per) yield return (o, (int)Math.Min(per, total - o));
        if (total == 0) yield return (0, 0);
    }
}
