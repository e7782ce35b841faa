using SslOrleans.Core.Losses;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Losses;

public sealed class NtXentLossTests
{
    // Chen et al. 2020, Algorithm 1: s(i, j) = zᵢ·zⱼ/(‖zᵢ‖‖zⱼ‖); ℓ(i, j) = −log(exp(s(i, j)/τ) / Σ_{k≠i} exp(s(i, k)/τ));
    // L = (1/2N) Σ_k [ℓ(2k−1, 2k) + ℓ(2k, 2k−1)].
    private static double Naive(float[,] a, float[,] b, double t)
    {
        int n = a.GetLength(0), d = a.GetLength(1);
        var z = new double[2 * n][];
        for (int i = 0; i < n; i++)
        {
            z[i] = Enumerable.Range(0, d).Select(j => (double)a[i, j]).ToArray();
            z[n + i] = Enumerable.Range(0, d).Select(j => (double)b[i, j]).ToArray();
        }
        double Sim(int i, int j)
        {
            double dot = 0, ni = 0, nj = 0;
            for (int k = 0; k < d; k++) { dot += z[i][k] * z[j][k]; ni += z[i][k] * z[i][k]; nj += z[j][k] * z[j][k]; }
            return dot / Math.Sqrt(ni * nj);
        }
        double Ell(int i, int j)
        {
            double denominator = 0;
            for (int k = 0; k < 2 * n; k++) if (k != i) denominator += Math.Exp(Sim(i, k) / t);
            return -Math.Log(Math.Exp(Sim(i, j) / t) / denominator);
        }
        double total = 0;
        for (int k = 0; k < n; k++) total += Ell(k, n + k) + Ell(n + k, k);
        return total / (2 * n);
    }

    [Theory]
    [InlineData(0.2)]
    [InlineData(0.5)]
    public void Equals_the_papers_loop(double temperature)
    {
        var a = LossTestData.Random(6, 5, 1);
        var b = LossTestData.Random(6, 5, 2);
        using var loss = new NtXentLoss(temperature).Forward(tensor(a), tensor(b));
        Assert.Equal(Naive(a, b, temperature), loss.item<float>(), 4);
    }

    [Fact]
    public void Aligned_orthogonal_pairs_give_the_analytic_value()
    {
        // zᵢ = z'ᵢ = eᵢ: the positive has similarity 1, the 2N − 2 negatives 0, so ℓ = log(1 + (2N − 2)·e^(−1/τ)).
        const int n = 4;
        const double t = 0.2;
        using var e = eye(n, 6);
        using var loss = new NtXentLoss(t).Forward(e, e);
        Assert.Equal(Math.Log(1 + (2 * n - 2) * Math.Exp(-1 / t)), loss.item<float>(), 5);
    }

    [Fact]
    public void Is_symmetric_in_the_two_views_and_ignores_the_scale_of_embeddings()
    {
        var a = tensor(LossTestData.Random(8, 3, 3));
        var b = tensor(LossTestData.Random(8, 3, 4));
        var loss = new NtXentLoss(0.3);
        Assert.Equal(loss.Forward(a, b).item<float>(), loss.Forward(b, a).item<float>(), 5);
        Assert.Equal(loss.Forward(a, b).item<float>(), loss.Forward(a * 7, b * 0.1f).item<float>(), 4);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void Rejects_a_temperature_that_is_not_positive(double t)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new NtXentLoss(t));
        Assert.Contains("temperature", e.Message);
    }

    [Fact]
    public void Rejects_mismatched_or_single_pairs()
    {
        var loss = new NtXentLoss();
        Assert.Throws<ArgumentException>(() => loss.Forward(zeros(4, 3), zeros(4, 2)));
        Assert.Throws<ArgumentException>(() => loss.Forward(ones(1, 3), ones(1, 3)));
    }
}
