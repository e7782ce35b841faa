using SslOrleans.Core.Training;

namespace SslOrleans.Core.Masking;

/// <summary>
/// BEiT's blockwise masking (Bao et al. 2022, Algorithm 1): rectangles of at least <c>minPatches</c> patches with a
/// log-uniform aspect ratio in [0.3, 1/0.3] are masked until the target count is reached. BEiT's generator may stop
/// a few patches short when no block fits the remainder; here the remainder is then masked one random patch at a
/// time, so every image masks exactly the target count (micro-batches stay independent, see <see cref="PatchMask"/>).
/// </summary>
public static class BlockMasking
{
    private const double AspectMin = 0.3;
    private const int Attempts = 10;

    /// <summary>BEiT masks 75 of 196 patches with blocks of at least 16; scaled to a grid of N patches.</summary>
    public static int MinBlockPatches(int patches) => Math.Max(1, (int)Math.Round(16.0 * patches / 196));

    /// <param name="side">The patch grid is side × side.</param>
    /// <param name="ratio">Share of patches to mask (BEiT: about 0.4).</param>
    public static PatchMask Sample(int batch, int side, double ratio, ulong seed)
    {
        int patches = side * side;
        int target = RandomMasking.MaskedCount(patches, ratio);
        int minBlock = MinBlockPatches(patches);
        var rng = new DeterministicRandom(seed);
        var masked = new bool[batch * patches];
        for (int i = 0; i < batch; i++)
        {
            var image = masked.AsSpan(i * patches, patches);
            int count = 0;
            while (count < target)
            {
                int delta = AddBlock(image, side, Math.Min(target - count, patches), minBlock, rng);
                if (delta == 0) break;
                count += delta;
            }
            while (count < target)
            {
                int p = (int)(rng.NextDouble() * patches);
                if (!image[p]) { image[p] = true; count++; }
            }
        }
        return new PatchMask(batch, patches, masked);
    }

    // One block: up to 10 tries at a rectangle that adds between 1 and `maxNew` new patches (BEiT's _mask).
    private static int AddBlock(Span<bool> image, int side, int maxNew, int minBlock, DeterministicRandom rng)
    {
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            double area = rng.Uniform(Math.Min(minBlock, maxNew), maxNew);
            double aspect = Math.Exp(rng.Uniform(Math.Log(AspectMin), Math.Log(1 / AspectMin)));
            int h = (int)Math.Round(Math.Sqrt(area * aspect)), w = (int)Math.Round(Math.Sqrt(area / aspect));
            if (h < 1 || w < 1 || h >= side || w >= side) continue;
            int top = (int)(rng.NextDouble() * (side - h + 1)), left = (int)(rng.NextDouble() * (side - w + 1));
            int fresh = 0;
            for (int r = top; r < top + h; r++)
                for (int c = left; c < left + w; c++)
                    if (!image[r * side + c]) fresh++;
            if (fresh == 0 || fresh > maxNew) continue;
            for (int r = top; r < top + h; r++)
                for (int c = left; c < left + w; c++)
                    image[r * side + c] = true;
            return fresh;
        }
        return 0;
    }
}
