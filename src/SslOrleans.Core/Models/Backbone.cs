using static TorchSharp.torch;

namespace SslOrleans.Core.Models;

/// <summary>
/// A feature extractor without classifier: forward(images [B, C, H, W]) returns pooled features [B, FeatureDim].
/// Methods build their heads on <see cref="FeatureDim"/> and never need to know which architecture is inside.
/// </summary>
public abstract class Backbone : nn.Module<Tensor, Tensor>
{
    protected Backbone(string name) : base(name) { }

    /// <summary>Width of the feature vector forward returns.</summary>
    public abstract long FeatureDim { get; }
}
