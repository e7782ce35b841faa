using SslOrleans.Core.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods;

/// <summary>backbone → projector (→ predictor). Field names give state_dict keys
/// "backbone.conv1.weight", "projector.layers.0.weight", "predictor.layers.0.weight", ….</summary>
public sealed class SiameseBranch : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> backbone;
    private readonly nn.Module<Tensor, Tensor> projector;
    private readonly nn.Module<Tensor, Tensor>? predictor;

    public SiameseBranch(nn.Module<Tensor, Tensor> backbone, nn.Module<Tensor, Tensor> projector, nn.Module<Tensor, Tensor>? predictor = null)
        : base("branch")
    {
        this.backbone = backbone;
        this.projector = projector;
        this.predictor = predictor;
        RegisterComponents();
    }

    public nn.Module<Tensor, Tensor> Backbone => backbone;

    public override Tensor forward(Tensor x) => Head(backbone.forward(x));

    /// <summary>The head's output and the backbone features it was computed from.</summary>
    public (Tensor Output, Tensor Features) ForwardWithFeatures(Tensor x)
    {
        var features = backbone.forward(x);
        return (Head(features), features);
    }

    /// <summary>Embeddings of both views [2, m, d] and the detached backbone features of the first, as the
    /// global-batch methods (SimCLR, Barlow Twins) embed a micro-batch.</summary>
    public MethodOutput EmbedViews(Tensor images, IReadOnlyList<ViewRecipe> views, ulong seed, ImageStats stats)
    {
        var (z1, features) = ForwardWithFeatures(ViewTransform.Apply(images, views[0], ViewRecipe.ViewSeed(seed, 0), stats.Mean, stats.Std));
        var z2 = forward(ViewTransform.Apply(images, views[1], ViewRecipe.ViewSeed(seed, 1), stats.Mean, stats.Std));
        return new MethodOutput(stack([z1, z2]), features.detach());
    }

    private Tensor Head(Tensor features)
    {
        var z = projector.forward(features);
        return predictor is null ? z : predictor.forward(z);
    }
}
