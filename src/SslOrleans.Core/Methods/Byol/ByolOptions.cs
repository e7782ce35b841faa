using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods.Byol;

/// <summary>
/// BYOL heads. The paper's 4096-wide MLPs belong to width 64; the hidden size scales with the backbone width
/// (64·width) so that small CPU runs are not dominated by the heads.
/// </summary>
public sealed record ByolOptions(BackboneOptions Backbone, int HiddenDim = 0, int ProjectionDim = 256, double TauBase = 0.99)
{
    public int EffectiveHiddenDim => HiddenDim > 0 ? HiddenDim : 64 * Backbone.Width;

    public void Validate()
    {
        Backbone.Validate();
        if (ProjectionDim < 1) throw new ArgumentOutOfRangeException(nameof(ProjectionDim), ProjectionDim, "projection dim must be at least 1");
        if (TauBase is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(TauBase), TauBase, "tau must lie in [0, 1]");
    }
}
