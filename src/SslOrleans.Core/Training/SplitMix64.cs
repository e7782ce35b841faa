namespace SslOrleans.Core.Training;

/// <summary>SplitMix64 (Steele, Lea, Flood 2014): fixed, tiny, good enough for shuffling.</summary>
internal static class SplitMix64
{
    public static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound) without modulo bias (Lemire's multiply-and-reject on 32 bits).</summary>
    public static uint Below(ref ulong state, uint bound)
    {
        ulong product = (Next(ref state) >> 32) * bound;
        uint low = (uint)product;
        if (low < bound)
        {
            uint threshold = (0u - bound) % bound;
            while (low < threshold)
            {
                product = (Next(ref state) >> 32) * bound;
                low = (uint)product;
            }
        }

        return (uint)(product >> 32);
    }
}
