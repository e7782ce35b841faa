using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods.SimClr;

/// <summary>SimCLR's projector is 2048 → 256 at width 64; both sizes scale with the backbone width.</summary>
public sealed record SimClrOptions(BackboneOptions Backbone, int HiddenDim = 0, int ProjectionDim = 0, double Temperature = 0.2)
{
    public int EffectiveHiddenDim => HiddenDim > 0 ? HiddenDim : 32 * Backbone.Width;
    public int EffectiveProjectionDim => ProjectionDim > 0 ? ProjectionDim : 4 * Backbone.Width;

    public void Validate()
    {
        Backbone.Validate();
        if (HiddenDim < 0) throw new ArgumentOutOfRangeException(nameof(HiddenDim), HiddenDim, "hidden dim must be ≥ 0 (0 = 32 × width)");
        if (ProjectionDim < 0) throw new ArgumentOutOfRangeException(nameof(ProjectionDim), ProjectionDim, "projection dim must be ≥ 0 (0 = 4 × width)");
        _ = new Losses.NtXentLoss(Temperature); // validates the temperature
    }
}
