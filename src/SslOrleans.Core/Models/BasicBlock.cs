using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>ResNet basic block; field names follow torchvision so PyTorch loads the weights as they are.</summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly BatchNormalization bn1;
    private readonly Conv2d conv2;
    private readonly BatchNormalization bn2;
    private readonly Sequential? downsample;

    public BasicBlock(string name, long inPlanes, long planes, long stride) : base(name)
    {
        conv1 = Conv2d(inPlanes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false);
        bn1 = new BatchNormalization(planes);
        conv2 = Conv2d(planes, planes, kernel_size: 3, stride: 1, padding: 1, bias: false);
        bn2 = new BatchNormalization(planes);
        if (stride != 1 || inPlanes != planes)
        {
            downsample = Sequential(
                ("0", Conv2d(inPlanes, planes, kernel_size: 1, stride: stride, bias: false)),
                ("1", new BatchNormalization(planes)));
        }
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = functional.relu(bn1.forward(conv1.call(x)));
        y = bn2.forward(conv2.call(y));
        var identity = downsample is null ? x : downsample.forward(x);
        return functional.relu(y.Plus(identity));
    }
}
