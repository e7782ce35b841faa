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
    /// <summary>Where the run [offset, offset + count) of the concatenated regions lies: per overlapped region, its
    /// array, the start in that array, the position within the run and the length.</summary>
    public static IEnumerable<(T[] Array, int Start, int At, int Length)> Overlaps<T>(Region<T>[] regions, long offset, long count) where T : unmanaged
    {
        long start = 0;
        foreach (var r in regions)
        {
            long from = Math.Max(offset, start), to = Math.Min(offset + count, start + r.Length);
            if (from < to) yield return (r.Array, r.Start + (int)(from - start), (int)(from - offset), (int)(to - from));
            start += r.Length;
        }
    }

    public static void Write<T>(ReadOnlySpan<T> values, long offset, Region<T>[] regions) where T : unmanaged
    {
        foreach (var (array, start, at, length) in Overlaps(regions, offset, values.Length))
            values.Slice(at, length).CopyTo(array.AsSpan(start));
    }

    public static void Read<T>(Span<T> values, long offset, Region<T>[] regions) where T : unmanaged
    {
        foreach (var (array, start, at, length) in Overlaps(regions, offset, values.Length))
            array.AsSpan(start, length).CopyTo(values.Slice(at));
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
