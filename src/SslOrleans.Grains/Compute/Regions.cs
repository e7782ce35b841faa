using System.Runtime.InteropServices;

namespace SslOrleans.Grains.Compute;

/// <summary>A run of an array that is one part of a concatenated index space.</summary>
public readonly record struct Region<T>(T[] Array, int Start, int Length) where T : unmanaged;

/// <summary>
/// Copies between a flat payload such as [parameters | buffers | target] and the arrays its parts live in,
/// a contiguous run at a time (never element by element, never through an intermediate concatenation).
/// </summary>
public static class Regions
{
    public static void Write<T>(ReadOnlySpan<T> values, long offset, ReadOnlySpan<Region<T>> regions) where T : unmanaged
    {
        long start = 0;
        foreach (var r in regions)
        {
            long from = Math.Max(offset, start), to = Math.Min(offset + values.Length, start + r.Length);
            if (from < to) values.Slice((int)(from - offset), (int)(to - from)).CopyTo(r.Array.AsSpan(r.Start + (int)(from - start)));
            start += r.Length;
        }
    }

    public static void Read<T>(Span<T> values, long offset, ReadOnlySpan<Region<T>> regions) where T : unmanaged
    {
        long start = 0;
        foreach (var r in regions)
        {
            long from = Math.Max(offset, start), to = Math.Min(offset + values.Length, start + r.Length);
            if (from < to) r.Array.AsSpan(r.Start + (int)(from - start), (int)(to - from)).CopyTo(values.Slice((int)(from - offset)));
            start += r.Length;
        }
    }

    /// <summary>The payload the regions form, cut into byte chunks of at most <paramref name="chunkBytes"/>, each copied once from its parts.</summary>
    public static List<(long Offset, long Total, byte[] Data)> Split<T>(Region<T>[] regions, int chunkBytes) where T : unmanaged
    {
        long total = regions.Sum(r => (long)r.Length);
        int size = Marshal.SizeOf<T>();
        var chunks = new List<(long, long, byte[])>();
        foreach (var (offset, count) in TensorBytes.Chunks(total, chunkBytes, size))
        {
            var data = new byte[count * size];
            Read(MemoryMarshal.Cast<byte, T>(data.AsSpan()), offset, regions);
            chunks.Add((offset, total, data));
        }
        return chunks;
    }
}
