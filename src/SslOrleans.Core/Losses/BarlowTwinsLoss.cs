using static TorchSharp.torch;

namespace SslOrleans.Core.Losses;

/// <summary>
/// Barlow Twins (Zbontar et al. 2021, eq. 1): each view's embeddings are batch-normalised without affine
/// parameters over the batch (mean 0, biased variance 1 per dimension), C = z̃₁ᵀ z̃₂ / N, and
/// L = Σᵢ (1 − Cᵢᵢ)² + λ Σᵢ Σ_{j≠i} Cᵢⱼ², multiplied by a loss scale (solo-learn uses 0.1 on CIFAR).
/// With embeddings of the whole global batch, normalisation and correlation cover the whole global batch.
/// </summary>
public sealed class BarlowTwinsLoss
{
    private const double BatchNormEps = 1e-5; // BatchNorm1d's default, as the paper's code normalises with it

    public double Lambda { get; }
    public double Scale { get; }

    public BarlowTwinsLoss(double lambda = 0.0051, double scale = 0.1)
    {
        if (!(lambda >= 0) || double.IsInfinity(lambda))
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "lambda must be a finite number ≥ 0");
        if (!(scale > 0) || double.IsInfinity(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, "loss scale must be a finite number > 0");
        Lambda = lambda;
        Scale = scale;
    }

    public Tensor Forward(Tensor z1, Tensor z2)
    {
        LossShapes.RequirePairs(z1, z2);
        long n = z1.shape[0];
        if (n < 2) throw new ArgumentException("Barlow Twins needs at least 2 samples to normalise over the batch");
        var c = matmul(Normalise(z1).t(), Normalise(z2)).Over(n);
        var diagonal = c.diagonal();
        var onDiagonal = diagonal.SubtractedFrom(1).square().sum();
        var offDiagonal = c.square().sum() - diagonal.square().sum();
        return onDiagonal.Plus(offDiagonal.Times(Lambda)).Times(Scale);
    }

    // Non-affine batch norm in training mode: biased variance, as torch.nn.BatchNorm1d(affine=False).
    private static Tensor Normalise(Tensor z)
    {
        var mean = z.mean([0], keepdim: true);
        var variance = (z - mean).square().mean([0], keepdim: true);
        return (z - mean) / variance.Plus(BatchNormEps).sqrt();
    }
}
