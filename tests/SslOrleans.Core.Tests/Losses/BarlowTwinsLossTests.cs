using SslOrleans.Core.Losses;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Losses;

public sealed class BarlowTwinsLossTests
{
    // Zbontar et al. 2021, Algorithm 1: z_norm = (z − mean)/std over the batch; c = z_aᵀ z_b / N;
    // L = Σᵢ (1 − cᵢᵢ)² + λ Σᵢ Σ_{j≠i} cᵢⱼ² (here times the loss scale).
    private static double Naive(float[,] a, float[,] b, double lambda, double scale)
    {
        int n = a.GetLength(0), d = a.GetLength(1);
        double[,] Norm(float[,] z)
        {
            var r = new double[n, d];
            for (int j = 0; j < d; j++)
            {
                double mean = 0, variance = 0;
                for (int i = 0; i < n; i++) mean += z[i, j] / (double)n;
                for (int i = 0; i < n; i++) variance += (z[i, j] - mean) * (z[i, j] - mean) / n;
                for (int i = 0; i < n; i++) r[i, j] = (z[i, j] - mean) / Math.Sqrt(variance + 1e-5);
            }
            return r;
        }
        var (x, y) = (Norm(a), Norm(b));
        double loss = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double c = 0;
                for (int k = 0; k < n; k++) c += x[k, i] * y[k, j] / n;
                loss += i == j ? (1 - c) * (1 - c) : lambda * c * c;
            }
        return scale * loss;
    }

    [Theory]
    [InlineData(0.0051, 0.1)]
    [InlineData(0.5, 1.0)]
    public void Equals_the_papers_loop(double lambda, double scale)
    {
        var a = LossTestData.Random(10, 4, 5);
        var b = LossTestData.Random(10, 4, 6);
        using var loss = new BarlowTwinsLoss(lambda, scale).Forward(tensor(a), tensor(b));
        Assert.Equal(Naive(a, b, lambda, scale), loss.item<float>(), 4);
    }

    [Fact]
    public void Identical_decorrelated_embeddings_give_zero_and_opposite_ones_four_per_dimension()
    {
        // Columns with mean 0, variance 1 and orthogonal to each other: C = I.
        var z = tensor(new float[,] { { 1, 1 }, { 1, -1 }, { -1, 1 }, { -1, -1 } });
        var loss = new BarlowTwinsLoss(0.0051, 1.0);
        Assert.Equal(0.0, loss.Forward(z, z).item<float>(), 4);
        // C = −I: each diagonal term is (1 − (−1))² = 4.
        Assert.Equal(8.0, loss.Forward(z, -z).item<float>(), 3);
    }

    [Fact]
    public void Is_symmetric_in_the_two_views()
    {
        var a = tensor(LossTestData.Random(12, 5, 7));
        var b = tensor(LossTestData.Random(12, 5, 8));
        var loss = new BarlowTwinsLoss();
        Assert.Equal(loss.Forward(a, b).item<float>(), loss.Forward(b, a).item<float>(), 5);
    }

    [Fact]
    public void Rejects_a_negative_lambda_or_a_scale_that_is_not_positive()
    {
        Assert.Contains("lambda", Assert.Throws<ArgumentOutOfRangeException>(() => new BarlowTwinsLoss(-0.1)).Message);
        Assert.Contains("scale", Assert.Throws<ArgumentOutOfRangeException>(() => new BarlowTwinsLoss(0.005, 0)).Message);
        Assert.Throws<ArgumentException>(() => new BarlowTwinsLoss().Forward(ones(1, 3), ones(1, 3)));
    }
}
