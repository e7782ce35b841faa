using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Losses;

/// <summary>
/// BYOL's regression loss (Grill et al. 2020, eq. 2): ‖p̄ − z̄‖² = 2 − 2·cos(p, z), with the target z
/// detached, averaged over the batch. <see cref="Symmetric"/> adds both view directions as the paper does.
/// </summary>
public static class ByolLoss
{
    public static Tensor Forward(Tensor prediction, Tensor target)
    {
        if (prediction.ndim != 2 || !prediction.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"prediction {Shape(prediction)} and target {Shape(target)} must both be [batch, dim]");
        var cos = functional.cosine_similarity(prediction, target.detach(), dim: 1, eps: 1e-8);
        return cos.Times(2).SubtractedFrom(2).mean();
    }

    /// <summary>L(p₁, z₂) + L(p₂, z₁).</summary>
    public static Tensor Symmetric(Tensor p1, Tensor p2, Tensor z1, Tensor z2) => Forward(p1, z2).Plus(Forward(p2, z1));

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
