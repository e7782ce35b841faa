using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>
/// ResNet-18 backbone with the CIFAR stem (3×3 conv1, stride 1, no max-pool), without the classifier:
/// forward returns the globally pooled features. Field names equal torchvision's state_dict keys.
/// </summary>
public sealed class ResNet : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;

    public long FeatureDim { get; }

    public ResNet(BackboneOptions options) : base("resnet18")
    {
        options.Validate();
        long w = options.Width;
        conv1 = Conv2d(options.InputChannels, w, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bn1 = BatchNorm2d(w);
        long inPlanes = w;
        layer1 = MakeLayer(ref inPlanes, w, 2, 1);
        layer2 = MakeLayer(ref inPlanes, 2 * w, 2, 2);
        layer3 = MakeLayer(ref inPlanes, 4 * w, 2, 2);
        layer4 = MakeLayer(ref inPlanes, 8 * w, 2, 2);
        FeatureDim = 8 * w;
        RegisterComponents();
        InitializeWeights();
    }

    private static Sequential MakeLayer(ref long inPlanes, long planes, int blocks, long stride)
    {
        var modules = new List<(string, Module<Tensor, Tensor>)>();
        for (int i = 0; i < blocks; i++)
        {
            modules.Add((i.ToString(), new BasicBlock("block", inPlanes, planes, i == 0 ? stride : 1)));
            inPlanes = planes;
        }
        return Sequential(modules);
    }

    // torchvision's initialisation: Kaiming normal (fan_out, ReLU) for convolutions, BN weight 1 and bias 0.
    private void InitializeWeights()
    {
        using var _ = no_grad();
        foreach (var (_, module) in named_modules())
        {
            if (module is Conv2d conv) init.kaiming_normal_(conv.weight, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
        }
    }

    public override Tensor forward(Tensor x)
    {
        var y = functional.relu(bn1.forward(conv1.forward(x)));
        y = layer4.forward(layer3.forward(layer2.forward(layer1.forward(y))));
        return functional.adaptive_avg_pool2d(y, 1).flatten(1);
    }
}
