using SslOrleans.Core.Training;

namespace SslOrleans.Core.Masking;

/// <summary>
/// MAE's per-image random masking (He et al. 2022): a uniformly random subset of round(ratio · N) patches of every
/// image is masked. Drawn with <see cref="DeterministicRandom"/>, so the mask depends only on the seed.
/// </summary>
public static class RandomMasking
{
    /// <summary>Patches masked per image: round(ratio · N), at least 1 and at most N − 1 (MAE needs both kinds).</summary>
    public static int MaskedCount(int patches, double ratio)
    {
        if (!(ratio > 0 && ratio < 1)) throw new ArgumentOutOfRangeException(nameof(ratio), ratio, "the mask ratio must lie in (0, 1)");
        if (patches < 2) throw new ArgumentOutOfRangeException(nameof(patches), patches, "masking needs at least 2 patches");
        return Math.Clamp((int)Math.Round(ratio * patches, MidpointRounding.AwayFromZero), 1, patches - 1);
    }

    public static PatchMask Sample(int batch, int patches, double ratio, ulong seed)
    {
        int count = MaskedCount(patches, ratio);
        var rng = new DeterministicRandom(seed);
        var masked = new bool[batch * patches];
        var order = new int[patches];
        for (int i = 0; i < batch; i++)
        {
            for (int p = 0; p < patches; p++) order[p] = p;
            // The first `count` places of a partial Fisher–Yates shuffle: a uniform random subset.
            for (int k = 0; k < count; k++)
            {
                int j = k + (int)(rng.NextDouble() * (patches - k));
                (order[k], order[j]) = (order[j], order[k]);
                masked[i * patches + order[k]] = true;
            }
        }
        return new PatchMask(batch, patches, masked);
    }
}
