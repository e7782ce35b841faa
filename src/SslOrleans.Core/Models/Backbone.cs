using static TorchSharp.torch;

namespace SslOrleans.Core.Models;

/// <summary>
/// A feature extractor without classifier: forward(images [B, C, H, W]) returns pooled features [B, FeatureDim].
/// Methods build their heads on <see cref="FeatureDim"/> and never need to know which architecture is inside.
/// Backbones invoke their convolution and linear layers with <c>call</c>, not <c>forward</c>: <c>call</c> runs hooks,
/// and the numerics self-check finds the layers and their input shapes through pre-hooks (Numerics/NumericsSelfCheck).
/// </summary>
public abstract class Backbone : nn.Module<Tensor, Tensor>
{
    protected Backbone(BackboneOptions options) : base(options.Name) => Options = options;

    /// <summary>What the backbone was built from: checkpoint consumers need it to rebuild the same network.</summary>
    public BackboneOptions Options { get; }

    /// <summary>One line for an export's metadata, e.g. "resnet18 cifar-stem width=16" or "vit-tiny width=16 patch=4 pool=mean".</summary>
    public string Architecture => Options.Architecture;

    /// <summary>Width of the feature vector forward returns.</summary>
    public abstract long FeatureDim { get; }
}
