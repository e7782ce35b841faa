using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core;

/// <summary>
/// Tensor arithmetic that keeps every <see cref="Scalar"/> alive until libtorch has read it.
/// TorchSharp 0.107 turns numbers into temporary Scalars (the implicit conversions of <c>x * 2f</c>,
/// <c>clamp(0, 1)</c>, and the alpha of 1 that <c>Tensor.add(Tensor)</c>, hence every <c>a + b</c>, creates
/// internally) and passes only their native handle on. The temporary is unreachable during the native call, so a
/// garbage collection at that moment lets the finalizer thread free it while libtorch reads it. Runs died of this
/// twice ("argument alpha must not be a floating point number" in batch norm at step 247 of a BYOL run;
/// "Expected false to be true … toFloat" in THSTensor_add during a BEiT run's evaluation). Here a scalar is either a
/// static, rooted for the life of the process, or held by <c>using</c> until the call has returned. Hot paths use
/// these instead of the operators with numbers and instead of tensor <c>+</c>.
/// </summary>
public static class ScalarOps
{
    // Never disposed and always reachable, so never finalized.
    private static readonly Scalar One = 1.ToScalar();

    /// <summary>a + b.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a += b, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary>a + c.</summary>
    public static Tensor Plus(this Tensor a, double c) => With(a, c, static (t, s) => t.add(s, One));

    /// <summary>a − c.</summary>
    public static Tensor Minus(this Tensor a, double c) => With(a, c, static (t, s) => t.sub(s));

    /// <summary>a · c.</summary>
    public static Tensor Times(this Tensor a, double c) => With(a, c, static (t, s) => t.mul(s));

    /// <summary>a / c.</summary>
    public static Tensor Over(this Tensor a, double c) => With(a, c, static (t, s) => t.div(s));

    /// <summary>a mod c, the sign of c (Python's %, torch.remainder).</summary>
    public static Tensor Modulo(this Tensor a, double c) => With(a, c, static (t, s) => t.remainder(s));

    /// <summary>c − a.</summary>
    public static Tensor SubtractedFrom(this Tensor a, double c)
    {
        using var negative = a.neg();
        return negative.Plus(c);
    }

    /// <summary>a clamped to [low, high].</summary>
    public static Tensor ClampTo(this Tensor a, double low, double high)
    {
        using var l = low.ToScalar();
        using var h = high.ToScalar();
        return a.clamp(l, h);
    }

    /// <summary>a where mask is false, c where it is true.</summary>
    public static Tensor FilledWhere(this Tensor a, Tensor mask, double c) => With(a, c, (t, s) => t.masked_fill(mask, s));

    /// <summary>a &gt; c, elementwise.</summary>
    public static Tensor Above(this Tensor a, double c) => With(a, c, static (t, s) => t.gt(s));

    /// <summary>a ≥ c, elementwise.</summary>
    public static Tensor AtLeast(this Tensor a, double c) => With(a, c, static (t, s) => t.ge(s));

    // The scalar lives until the native call has returned.
    private static Tensor With(Tensor a, double c, Func<Tensor, Scalar, Tensor> op)
    {
        using var s = c.ToScalar();
        return op(a, s);
    }
}
