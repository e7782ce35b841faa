using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SslOrleans.Core.Numerics;

/// <summary>
/// One layer operation of a model, as the numerics self-check runs it: without bias (a bias adds one exactly
/// rounded term), on an input of <see cref="InputShape"/>. <see cref="Terms"/> counts the products summed into one
/// element of the forward result, of the input gradient and of the weight gradient: the K of the rounding bound.
/// </summary>
public abstract record CheckedOp(string Layer, long[] InputShape)
{
    public abstract long[] WeightShape { get; }

    public abstract Tensor Apply(Tensor x, Tensor w);

    public abstract (long Forward, long InputGradient, long WeightGradient) Terms(long[] outputShape);

    /// <summary>Multiply-adds of one forward pass: what the check's float64 reference costs.</summary>
    public abstract long MultiplyAdds(long[] outputShape);

    public abstract string Kind { get; }

    /// <summary>The same operation on a batch of <paramref name="batch"/> (dimension 0 is the batch).</summary>
    public CheckedOp WithBatch(long batch) => this with { InputShape = [batch, .. InputShape[1..]] };

    public sealed override string ToString() => $"{Layer}: {Kind} on [{string.Join(", ", InputShape)}]";

    public static CheckedOp? Of(string layer, nn.Module module, long[] inputShape) => module switch
    {
        Conv2d c when !c.transposed && c.padding_type is null => new Conv2dOp(layer, inputShape, c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding!, c.dilation, c.groups),
        Linear l => new LinearOp(layer, inputShape, l.in_features, l.out_features),
        _ => null,
    };
}

public sealed record Conv2dOp(string Layer, long[] InputShape, long InChannels, long OutChannels, long[] Kernel, long[] Stride, long[] Padding, long[] Dilation, long Groups)
    : CheckedOp(Layer, InputShape)
{
    public override long[] WeightShape => [OutChannels, InChannels / Groups, Kernel[0], Kernel[1]];

    public override string Kind => $"conv2d {InChannels}→{OutChannels} {Kernel[0]}×{Kernel[1]} stride {Stride[0]} padding {Padding[0]}" + (Groups > 1 ? $" groups {Groups}" : "");

    public override Tensor Apply(Tensor x, Tensor w) => nn.functional.conv2d(x, w, strides: Stride, padding: Padding, dilation: Dilation, groups: Groups);

    public override (long, long, long) Terms(long[] outputShape) =>
        (InChannels / Groups * Kernel[0] * Kernel[1],          // one output: a window of every input channel of its group
         OutChannels / Groups * Kernel[0] * Kernel[1],         // one input element: at most every output channel and kernel tap
         outputShape[0] * outputShape[2] * outputShape[3]);    // one weight: every image and output position

    public override long MultiplyAdds(long[] outputShape) => outputShape[0] * outputShape[1] * outputShape[2] * outputShape[3] * (InChannels / Groups) * Kernel[0] * Kernel[1];
}

public sealed record LinearOp(string Layer, long[] InputShape, long InFeatures, long OutFeatures) : CheckedOp(Layer, InputShape)
{
    public override long[] WeightShape => [OutFeatures, InFeatures];

    public override string Kind => $"linear {InFeatures}→{OutFeatures}";

    public override Tensor Apply(Tensor x, Tensor w) => nn.functional.linear(x, w);

    public override (long, long, long) Terms(long[] outputShape) =>
        (InFeatures, OutFeatures, outputShape.Aggregate(1L, (a, b) => a * b) / OutFeatures);

    public override long MultiplyAdds(long[] outputShape) => outputShape.Aggregate(1L, (a, b) => a * b) * InFeatures;
}
