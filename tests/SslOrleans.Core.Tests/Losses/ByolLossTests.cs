using SslOrleans.Core.Losses;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Losses;

public sealed class ByolLossTests
{
    // Grill et al. 2020, eq. 2: L = ‖p/‖p‖ − z/‖z‖‖², averaged over the batch.
    private static double Naive(float[,] p, float[,] z)
    {
        int n = p.GetLength(0), d = p.GetLength(1);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double np = 0, nz = 0;
            for (int j = 0; j < d; j++) { np += p[i, j] * p[i, j]; nz += z[i, j] * z[i, j]; }
            np = Math.Sqrt(np); nz = Math.Sqrt(nz);
            double sq = 0;
            for (int j = 0; j < d; j++) { var diff = p[i, j] / np - z[i, j] / nz; sq += diff * diff; }
            total += sq;
        }
        return total / n;
    }

    private static float[,] Random(int n, int d, int seed)
    {
        var r = new System.Random(seed);
        var a = new float[n, d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) a[i, j] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }

    [Fact]
    public void Equals_the_papers_normalised_squared_error()
    {
        var p = Random(8, 5, 1);
        var z = Random(8, 5, 2);
        using var loss = ByolLoss.Forward(tensor(p), tensor(z));
        Assert.Equal(Naive(p, z), loss.item<float>(), 5);
    }

    [Fact]
    public void Is_zero_for_aligned_and_four_for_opposite_vectors()
    {
        var p = Random(4, 3, 3);
        using var t = tensor(p);
        Assert.Equal(0, ByolLoss.Forward(t, t * 2.5f).item<float>(), 5);
        Assert.Equal(4, ByolLoss.Forward(t, -t).item<float>(), 5);
    }

    [Fact]
    public void Symmetric_loss_adds_both_directions_and_swapping_views_keeps_it()
    {
        using var p1 = tensor(Random(6, 4, 4)); using var p2 = tensor(Random(6, 4, 5));
        using var z1 = tensor(Random(6, 4, 6)); using var z2 = tensor(Random(6, 4, 7));
        var both = ByolLoss.Symmetric(p1, p2, z1, z2).item<float>();
        Assert.Equal(ByolLoss.Forward(p1, z2).item<float>() + ByolLoss.Forward(p2, z1).item<float>(), both, 5);
        Assert.Equal(both, ByolLoss.Symmetric(p2, p1, z2, z1).item<float>(), 5);
    }

    [Fact]
    public void Gradient_reaches_the_prediction_but_not_the_target()
    {
        using var p = tensor(Random(4, 3, 8)).requires_grad_();
        using var z = tensor(Random(4, 3, 9)).requires_grad_();
        ByolLoss.Forward(p, z).backward();
        Assert.NotNull(p.grad);
        Assert.True(p.grad!.abs().sum().item<float>() > 0);
        Assert.True(z.grad is null || z.grad.abs().sum().item<float>() == 0);
    }

    [Fact]
    public void Mismatched_shapes_are_an_error()
    {
        using var a = zeros(4, 3); using var b = zeros(4, 2);
        Assert.Throws<ArgumentException>(() => ByolLoss.Forward(a, b));
    }
}
