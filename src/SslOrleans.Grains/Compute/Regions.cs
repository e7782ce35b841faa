namespace SslOrleans.Grains.Compute;

/// <summary>A run of an array that is one part of a concatenated index space.</summary>
public readonly record struct Region(float[] Array, int Start, int Length);

/// <summary>
/// Copies between a flat payload such as [parameters | buffers | target] and the arrays its parts live in,
/// a contiguous run at a time (never element by element through an indexer).
/// </summary>
public static class Regions
{
    public static void Write(ReadOnlySpan<float> values, long offset, ReadOnlySpan<Region> regions)
    {
        long start = 0;
        foreach (var r in regions)
        {
            long from = Math.Max(offset, start), to = Math.Min(offset + values.Length, start + r.Length);
            if (from < to) values.Slice((int)(from - offset), (int)(to - from)).CopyTo(r.Array.AsSpan(r.Start + (int)(from - start)));
            start += r.Length;
        }
    }

    public static void Read(Span<float> values, long offset, ReadOnlySpan<Region> regions)
    {
        long start = 0;
        foreach (var r in regions)
        {
            long from = Math.Max(offset, start), to = Math.Min(offset + values.Length, start + r.Length);
            if (from < to) r.Array.AsSpan(r.Start + (int)(from - start), (int)(to - from)).CopyTo(values.Slice((int)(from - offset)));
            start += r.Length;
        }
    }
}
