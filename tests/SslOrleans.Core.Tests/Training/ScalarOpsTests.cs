using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Training;

/// <summary>The scalar-safe arithmetic must compute exactly what the operators it replaces compute.</summary>
public sealed class ScalarOpsTests
{
    private static void Same(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(expected.to_type(ScalarType.Float64).data<double>().ToArray(), actual.to_type(ScalarType.Float64).data<double>().ToArray());
    }

    [Fact]
    public void Every_operation_equals_the_operator_bit_for_bit()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var a = randn([5, 7], generator: generator);
        var b = randn([5, 7], generator: generator);
        Same(a + b, a.Plus(b));
        Same(a + 0.3, a.Plus(0.3));
        Same(a - 0.3f, a.Minus(0.3f));
        Same(a * 2.5, a.Times(2.5));
        Same(a / 0.7, a.Over(0.7));
        Same(1f - a, a.SubtractedFrom(1));
        Same(2 - 2 * a, a.Times(2).SubtractedFrom(2));
        Same(a.clamp(-0.5, 0.5), a.ClampTo(-0.5, 0.5));
        Same(a > 0.1, a.Above(0.1));
        Same(a >= 0.1, a.AtLeast(0.1));
        var mask = a > 0;
        Same(a.masked_fill(mask, double.NegativeInfinity), a.FilledWhere(mask, double.NegativeInfinity));
        var c = a.clone();
        c.PlusInPlace(b);
        Same(a + b, c);
    }
}
