using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.Byol;

/// <summary>backbone → projector (→ predictor on the online side). Field names give state_dict keys
/// "backbone.conv1.weight", "projector.layers.0.weight", ….</summary>
public sealed class SiameseBranch : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> backbone;
    private readonly nn.Module<Tensor, Tensor> projector;
    private readonly nn.Module<Tensor, Tensor>? predictor;

    public SiameseBranch(nn.Module<Tensor, Tensor> backbone, nn.Module<Tensor, Tensor> projector, nn.Module<Tensor, Tensor>? predictor)
        : base("branch")
    {
        this.backbone = backbone;
        this.projector = projector;
        this.predictor = predictor;
        RegisterComponents();
    }

    public nn.Module<Tensor, Tensor> Backbone => backbone;

    public override Tensor forward(Tensor x)
    {
        var z = projector.forward(backbone.forward(x));
        return predictor is null ? z : predictor.forward(z);
    }
}
