using static TorchSharp.torch;

namespace SslOrleans.Core.Models;

/// <summary>
/// MAE's fixed 2-D sine-cosine position embedding (<c>get_2d_sincos_pos_embed</c> with a cls row of zeros): half of
/// the channels encode the patch column, half its row, each as sin and cos at frequencies 1/10000^(k/(D/4)).
/// </summary>
public static class SinCosPositions
{
    /// <summary>[1, 1 + side², dim]; dim must be a multiple of 4.</summary>
    public static Tensor Create(int side, long dim)
    {
        if (dim % 4 != 0) throw new ArgumentException($"a 2-D sine-cosine embedding needs a dimension divisible by 4, got {dim}", nameof(dim));
        long quarter = dim / 4;
        var values = new float[(1 + side * side) * dim];
        for (int r = 0; r < side; r++)
            for (int c = 0; c < side; c++)
            {
                int row = 1 + r * side + c;
                for (long k = 0; k < quarter; k++)
                {
                    double omega = 1.0 / Math.Pow(10000, (double)k / quarter);
                    long o = row * dim;
                    values[o + k] = (float)Math.Sin(c * omega);
                    values[o + quarter + k] = (float)Math.Cos(c * omega);
                    values[o + 2 * quarter + k] = (float)Math.Sin(r * omega);
                    values[o + 3 * quarter + k] = (float)Math.Cos(r * omega);
                }
            }
        return tensor(values, [1, 1 + side * side, dim]);
    }
}
