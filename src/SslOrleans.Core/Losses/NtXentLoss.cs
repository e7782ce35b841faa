using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Losses;

/// <summary>
/// SimCLR's NT-Xent (Chen et al. 2020, eq. 1): embeddings are L2-normalised; each of the 2N views has its
/// other view as the positive and the remaining 2N − 2 views as negatives;
/// ℓ(i) = −log(exp(sim(i, i⁺)/T) / Σ_{k≠i} exp(sim(i, k)/T)), averaged over all 2N views.
/// With embeddings of the whole global batch, the negatives are the whole global batch.
/// </summary>
public sealed class NtXentLoss
{
    public double Temperature { get; }

    public NtXentLoss(double temperature = 0.2)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be a finite number > 0");
        Temperature = temperature;
    }

    /// <param name="z1">[N, d] embeddings of the first views.</param>
    /// <param name="z2">[N, d] embeddings of the second views, row i pairs with row i of z1.</param>
    public Tensor Forward(Tensor z1, Tensor z2)
    {
        LossShapes.RequirePairs(z1, z2);
        long n = z1.shape[0];
        if (n < 2) throw new ArgumentException("NT-Xent needs at least 2 pairs (one negative per view)");
        var z = functional.normalize(cat([z1, z2], 0), p: 2, dim: 1, eps: 1e-12);
        var logits = matmul(z, z.t()).Over(Temperature);
        // A view is never its own negative: −∞ on the diagonal drops it from the softmax.
        var self = eye(2 * n, dtype: ScalarType.Bool, device: z.device);
        logits = logits.FilledWhere(self, double.NegativeInfinity);
        var positives = cat([arange(n, 2 * n, device: z.device), arange(0, n, device: z.device)], 0);
        return functional.cross_entropy(logits, positives);
    }
}
