using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Losses;

/// <summary>
/// BEiT's masked image modelling loss (Bao et al. 2022, eq. 1): the cross-entropy of the visual token predicted at
/// each masked position against the tokenizer's code of that patch, averaged over the masked positions only.
/// </summary>
public sealed class MaskedTokenLoss
{
    /// <param name="logits">[B, N, K] scores over the K codes at every position.</param>
    /// <param name="codes">[B, N] the tokenizer's codes (int64).</param>
    /// <param name="masked">[B, N] bool, true where masked.</param>
    public Tensor Forward(Tensor logits, Tensor codes, Tensor masked)
    {
        if (logits.ndim != 3) throw new ArgumentException($"logits {LossShapes.Shape(logits)} must be [B, N, K]");
        if (codes.ndim != 2 || codes.shape[0] != logits.shape[0] || codes.shape[1] != logits.shape[1])
            throw new ArgumentException($"codes {LossShapes.Shape(codes)} must be [B, N] = [{logits.shape[0]}, {logits.shape[1]}]");
        if (!masked.shape.SequenceEqual(codes.shape) || masked.dtype != ScalarType.Bool)
            throw new ArgumentException($"masked {LossShapes.Shape(masked)} must be bool [B, N] like the codes");
        using var scope = NewDisposeScope();
        return MaskedOnly(logits[masked], codes[masked]).MoveToOuterDisposeScope();
    }

    /// <summary>The same loss when only the masked positions were scored: logits [M, K], codes [M].</summary>
    public Tensor MaskedOnly(Tensor logits, Tensor codes)
    {
        if (logits.ndim != 2 || codes.ndim != 1 || codes.shape[0] != logits.shape[0])
            throw new ArgumentException($"logits {LossShapes.Shape(logits)} must be [M, K] and codes {LossShapes.Shape(codes)} [M]");
        if (logits.shape[0] == 0) throw new ArgumentException("no position is masked: the loss is undefined");
        return functional.cross_entropy(logits, codes);
    }
}
