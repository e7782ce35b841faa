using static TorchSharp.torch;

namespace SslOrleans.Core.Losses;

/// <summary>
/// MAE's reconstruction loss (He et al. 2022, §3): the mean squared error per patch, averaged over the masked
/// patches only. With <see cref="NormalizePixels"/> each target patch is first standardised by its own mean and
/// (unbiased) variance, MAE's <c>norm_pix_loss</c>, which the paper finds improves representations.
/// </summary>
public sealed class MaskedPatchLoss(bool normalizePixels = false)
{
    // MAE's epsilon under the square root of the per-patch variance.
    public const double VarianceEps = 1e-6;

    public bool NormalizePixels { get; } = normalizePixels;

    /// <param name="prediction">[B, N, P] predicted patches.</param>
    /// <param name="target">[B, N, P] the image's patches (<see cref="Masking.Patches.Patchify"/>).</param>
    /// <param name="mask">[B, N], 1 where masked and 0 where visible.</param>
    public Tensor Forward(Tensor prediction, Tensor target, Tensor mask)
    {
        if (prediction.ndim != 3 || !prediction.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"prediction {LossShapes.Shape(prediction)} and target {LossShapes.Shape(target)} must both be [B, N, P]");
        if (mask.ndim != 2 || mask.shape[0] != prediction.shape[0] || mask.shape[1] != prediction.shape[1])
            throw new ArgumentException($"mask {LossShapes.Shape(mask)} must be [B, N] = [{prediction.shape[0]}, {prediction.shape[1]}]");
        using var scope = NewDisposeScope();
        var t = target.detach();
        if (NormalizePixels)
        {
            var mean = t.mean([-1], keepdim: true);
            var variance = t.var(-1, unbiased: true, keepdim: true);
            t = (t - mean) / variance.Plus(VarianceEps).sqrt();
        }
        var perPatch = (prediction - t).square().mean([-1]);
        return ((perPatch * mask).sum() / mask.sum()).MoveToOuterDisposeScope();
    }
}
