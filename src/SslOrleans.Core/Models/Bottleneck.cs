using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>
/// ResNet bottleneck block (1×1 reduce → 3×3 → 1×1 expand ×4). The stride sits on the 3×3 conv2 as in
/// torchvision ("ResNet v1.5"), and field names follow torchvision so PyTorch loads the weights as they are.
/// </summary>
public sealed class Bottleneck : Module<Tensor, Tensor>
{
    public const long Expansion = 4;

    private readonly Conv2d conv1;
    private readonly BatchNormalization bn1;
    private readonly Conv2d conv2;
    private readonly BatchNormalization bn2;
    private readonly Conv2d conv3;
    private readonly BatchNormalization bn3;
    private readonly Sequential? downsample;

    public Bottleneck(string name, long inPlanes, long planes, long stride) : base(name)
    {
        long outPlanes = planes * Expansion;
        conv1 = Conv2d(inPlanes, planes, kernel_size: 1, bias: false);
        bn1 = new BatchNormalization(planes);
        conv2 = Conv2d(planes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn2 = new BatchNormalization(planes);
        conv3 = Conv2d(planes, outPlanes, kernel_size: 1, bias: false);
        bn3 = new BatchNormalization(outPlanes);
        if (stride != 1 || inPlanes != outPlanes)
        {
            downsample = Sequential(
                ("0", Conv2d(inPlanes, outPlanes, kernel_size: 1, stride: stride, bias: false)),
                ("1", new BatchNormalization(outPlanes)));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = functional.relu(bn1.forward(conv1.call(x)));
        y = functional.relu(bn2.forward(conv2.call(y)));
        y = bn3.forward(conv3.call(y));
        var identity = downsample is null ? x : downsample.forward(x);
        return functional.relu(y.Plus(identity));
    }
}
