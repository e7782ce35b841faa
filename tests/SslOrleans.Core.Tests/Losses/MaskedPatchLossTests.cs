using SslOrleans.Core.Losses;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Losses;

public sealed class MaskedPatchLossTests
{
    // He et al. 2022, §3 and the reference code: per patch mean((pred − target)²) over its values, with norm_pix
    // target = (t − mean(t)) / sqrt(var(t) + 1e-6) (unbiased variance), then Σ loss·mask / Σ mask.
    private static double Naive(float[,,] pred, float[,,] target, float[,] mask, bool normPix)
    {
        int b = pred.GetLength(0), n = pred.GetLength(1), p = pred.GetLength(2);
        double sum = 0, count = 0;
        for (int i = 0; i < b; i++)
            for (int j = 0; j < n; j++)
            {
                double mean = 0, variance = 0;
                for (int k = 0; k < p; k++) mean += target[i, j, k] / (double)p;
                for (int k = 0; k < p; k++) variance += (target[i, j, k] - mean) * (target[i, j, k] - mean) / (p - 1);
                double se = 0;
                for (int k = 0; k < p; k++)
                {
                    double t = normPix ? (target[i, j, k] - mean) / Math.Sqrt(variance + 1e-6) : target[i, j, k];
                    se += (pred[i, j, k] - t) * (pred[i, j, k] - t) / p;
                }
                sum += se * mask[i, j];
                count += mask[i, j];
            }
        return sum / count;
    }

    private static float[,,] Random3(int b, int n, int p, int seed)
    {
        var r = new Random(seed);
        var a = new float[b, n, p];
        for (int i = 0; i < b; i++) for (int j = 0; j < n; j++) for (int k = 0; k < p; k++) a[i, j, k] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }

    private static Tensor T(float[,,] a) => tensor(a.Cast<float>().ToArray(), [a.GetLength(0), a.GetLength(1), a.GetLength(2)]);

    private static float[,] Mask(int b, int n, int seed)
    {
        var r = new Random(seed);
        var m = new float[b, n];
        for (int i = 0; i < b; i++) for (int j = 0; j < n; j++) m[i, j] = r.NextDouble() < 0.75 ? 1 : 0;
        m[0, 0] = 1;
        return m;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Equals_the_papers_loop_on_masked_patches(bool normPix)
    {
        var pred = Random3(3, 9, 16, 1);
        var target = Random3(3, 9, 16, 2);
        var mask = Mask(3, 9, 3);
        using var loss = new MaskedPatchLoss(normPix).Forward(T(pred), T(target), tensor(mask.Cast<float>().ToArray(), [3, 9]));
        Assert.Equal(Naive(pred, target, mask, normPix), loss.item<float>(), 5);
    }

    [Fact]
    public void Unmasked_patches_change_nothing()
    {
        var pred = Random3(2, 9, 16, 4);
        var target = Random3(2, 9, 16, 5);
        var mask = Mask(2, 9, 6);
        using var m = tensor(mask.Cast<float>().ToArray(), [2, 9]);
        double before = new MaskedPatchLoss().Forward(T(pred), T(target), m).item<float>();
        var changed = (float[,,])pred.Clone();
        for (int i = 0; i < 2; i++) for (int j = 0; j < 9; j++) if (mask[i, j] == 0) for (int k = 0; k < 16; k++) changed[i, j, k] += 10;
        Assert.Equal(before, new MaskedPatchLoss().Forward(T(changed), T(target), m).item<float>(), 6);

        // ... and the gradient at unmasked patches is exactly zero.
        using var p = T(pred).requires_grad_(true);
        new MaskedPatchLoss().Forward(p, T(target), m).backward();
        var g = p.grad!.data<float>().ToArray();
        for (int i = 0; i < 2; i++) for (int j = 0; j < 9; j++) if (mask[i, j] == 0) for (int k = 0; k < 16; k++) Assert.Equal(0f, g[(i * 9 + j) * 16 + k]);
    }

    [Fact]
    public void A_perfect_prediction_costs_nothing_and_a_unit_offset_costs_one()
    {
        var target = Random3(2, 4, 8, 7);
        using var m = ones(2, 4);
        Assert.Equal(0, new MaskedPatchLoss().Forward(T(target), T(target), m).item<float>(), 6);
        using var shifted = T(target) + 1;
        Assert.Equal(1, new MaskedPatchLoss().Forward(shifted, T(target), m).item<float>(), 5);
    }

    [Fact]
    public void Mismatched_shapes_are_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new MaskedPatchLoss().Forward(zeros(2, 4, 8), zeros(2, 4, 7), ones(2, 4)));
        Assert.Contains("[2, 4, 7]", e.Message);
        Assert.Throws<ArgumentException>(() => new MaskedPatchLoss().Forward(zeros(2, 4, 8), zeros(2, 4, 8), ones(2, 5)));
    }
}
