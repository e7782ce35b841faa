namespace SslOrleans.Core.Data;

/// <summary>Bytes to [0, 1] floats by one table read per pixel (v / 255f), shared by every image source so that the
/// same bytes give the same tensor whichever source they came through.</summary>
internal static class UnitPixels
{
    private static readonly float[] Table = Enumerable.Range(0, 256).Select(v => v / 255f).ToArray();

    public static void Convert(ReadOnlySpan<byte> source, Span<float> target)
    {
        for (int j = 0; j < source.Length; j++) target[j] = Table[source[j]];
    }
}
