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

    private Tensor Head(Tensor features)
    {
        var z = projector.forward(features);
        return predictor is null ? z : predictor.forward(z);
    }
}
