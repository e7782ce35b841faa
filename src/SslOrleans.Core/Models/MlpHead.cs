using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>
/// Projector / predictor MLP: (Linear → BatchNorm1d → ReLU) × (layers − 1) → Linear. Two layers are BYOL's and
/// SimCLR's heads, three are Barlow Twins' projector. Keys "layers.0.weight", "layers.1.running_mean", ….
/// </summary>
public sealed class MlpHead : Module<Tensor, Tensor>
{
    private readonly Sequential layers;

    public MlpHead(long inputDim, long hiddenDim, long outputDim, int layerCount = 2) : base("mlp")
    {
        if (layerCount < 1) throw new ArgumentOutOfRangeException(nameof(layerCount), layerCount, "an MLP head has at least one layer");
        var modules = new List<(string, Module<Tensor, Tensor>)>();
        long width = inputDim;
        for (int i = 0; i < layerCount - 1; i++)
        {
            modules.Add(((3 * i).ToString(), Linear(width, hiddenDim)));
            modules.Add(((3 * i + 1).ToString(), new BatchNormalization(hiddenDim)));
            modules.Add(((3 * i + 2).ToString(), ReLU()));
            width = hiddenDim;
        }
        modules.Add(((3 * (layerCount - 1)).ToString(), Linear(width, outputDim)));
        layers = Sequential(modules);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => layers.forward(x);
}
