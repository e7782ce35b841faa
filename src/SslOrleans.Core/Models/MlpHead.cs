using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>Projector / predictor MLP of BYOL: Linear → BatchNorm1d → ReLU → Linear.</summary>
public sealed class MlpHead : Module<Tensor, Tensor>
{
    private readonly Sequential layers;

    public MlpHead(long inputDim, long hiddenDim, long outputDim) : base("mlp")
    {
        layers = Sequential(
            ("0", Linear(inputDim, hiddenDim)),
            ("1", BatchNorm1d(hiddenDim)),
            ("2", ReLU()),
            ("3", Linear(hiddenDim, outputDim)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => layers.forward(x);
}
