using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods.Barlow;

/// <summary>Barlow Twins' 3-layer projector is 2048 wide at width 64 (solo-learn's CIFAR recipe) and scales with the width.</summary>
public sealed record BarlowTwinsOptions(BackboneOptions Backbone, int HiddenDim = 0, int ProjectionDim = 0, double Lambda = 0.0051, double LossScale = 0.1)
{
    public int EffectiveHiddenDim => HiddenDim > 0 ? HiddenDim : 32 * Backbone.Width;
    public int EffectiveProjectionDim => ProjectionDim > 0 ? ProjectionDim : EffectiveHiddenDim;

    public void Validate()
    {
        Backbone.Validate();
        if (HiddenDim < 0) throw new ArgumentOutOfRangeException(nameof(HiddenDim), HiddenDim, "hidden dim must be ≥ 0 (0 = 32 × width)");
        if (ProjectionDim < 0) throw new ArgumentOutOfRangeException(nameof(ProjectionDim), ProjectionDim, "projection dim must be ≥ 0 (0 = the hidden dim)");
        _ = new Losses.BarlowTwinsLoss(Lambda, LossScale); // validates λ and the scale
    }
}
