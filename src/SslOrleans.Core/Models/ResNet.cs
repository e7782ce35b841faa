using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>
/// ResNet-18 (basic blocks, [2, 2, 2, 2]) or ResNet-50 (bottlenecks, [3, 4, 6, 3]) without the classifier:
/// forward returns the globally pooled features. <see cref="BackboneOptions.Width"/> scales every stage's planes
/// (64 = torchvision). Stems: "cifar" (3×3 conv1 stride 1, no max-pool, for 28–32 px images) or "imagenet"
/// (7×7 stride 2 conv1 + 3×3 stride 2 max-pool). Field names equal torchvision's state_dict keys.
/// </summary>
public sealed class ResNet : Backbone
{
    private readonly Conv2d conv1;
    private readonly BatchNormalization bn1;
    private readonly MaxPool2d? maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;

    public override long FeatureDim { get; }

    public ResNet(BackboneOptions options) : base(Validated(options))
    {
        bool bottleneck = options.Name == "resnet50";
        int[] blocks = bottleneck ? [3, 4, 6, 3] : [2, 2, 2, 2];
        long w = options.Width;
        if (options.Stem == "imagenet")
        {
            conv1 = Conv2d(options.InputChannels, w, kernel_size: 7, stride: 2, padding: 3, bias: false);
            maxpool = MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        }
        else
        {
            conv1 = Conv2d(options.InputChannels, w, kernel_size: 3, stride: 1, padding: 1, bias: false);
        }
        bn1 = new BatchNormalization(w);
        long inPlanes = w;
        layer1 = MakeLayer(bottleneck, ref inPlanes, w, blocks[0], 1);
        layer2 = MakeLayer(bottleneck, ref inPlanes, 2 * w, blocks[1], 2);
        layer3 = MakeLayer(bottleneck, ref inPlanes, 4 * w, blocks[2], 2);
        layer4 = MakeLayer(bottleneck, ref inPlanes, 8 * w, blocks[3], 2);
        FeatureDim = inPlanes;
        RegisterComponents();
        InitializeWeights();
    }

    // Validates before any layer is built, so a bad option fails with its own message rather than a shape error.
    private static BackboneOptions Validated(BackboneOptions options)
    {
        options.Validate();
        if (options.IsVisionTransformer) throw new ArgumentException($"'{options.Name}' is not a ResNet", nameof(options));
        return options;
    }

    private static Sequential MakeLayer(bool bottleneck, ref long inPlanes, long planes, int blocks, long stride)
    {
        var modules = new List<(string, Module<Tensor, Tensor>)>();
        for (int i = 0; i < blocks; i++)
        {
            long s = i == 0 ? stride : 1;
            modules.Add((i.ToString(), bottleneck
                ? new Bottleneck("block", inPlanes, planes, s)
                : new BasicBlock("block", inPlanes, planes, s)));
            inPlanes = bottleneck ? planes * Bottleneck.Expansion : planes;
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
        var y = functional.relu(bn1.forward(conv1.call(x)));
        if (maxpool is not null) y = maxpool.forward(y);
        y = layer4.forward(layer3.forward(layer2.forward(layer1.forward(y))));
        return functional.adaptive_avg_pool2d(y, 1).flatten(1);
    }
}
