using System.Diagnostics;
using static System.FormattableString;
using static TorchSharp.torch;

namespace SslOrleans.Core.Numerics;

/// <summary>
/// Checks, before a worker trains, that this process's CPU kernels compute the model's layers right: every distinct
/// convolution and linear layer of the backbone, at the input shape it sees in training and at the current intra-op
/// thread count, forward and backward in float32, against the same operation in float64 (ATen's own kernels, not
/// oneDNN's). A correct float32 kernel, in whatever order it sums, meets the classical bound of a K-term dot product:
/// |computed − exact| ≤ γ(K+1) · Σ|xᵢ||wᵢ|, γ(n) = n·u / (1 − n·u), u = 2⁻²⁴ (Higham, Accuracy and Stability of
/// Numerical Algorithms, §3.1; the +1 is the rounding of the result to float32). The check computes Σ|xᵢ||wᵢ| for
/// every element as the same operation on |x| and |w| in float64, so its tolerance follows from the analysis and
/// holds on every processor; a wrong kernel (NaN, or errors like the ~1e-3 seen on AMD EPYC) lands far outside it.
/// </summary>
public static class NumericsSelfCheck
{
    /// <summary>Float32 unit roundoff.</summary>
    public const double UnitRoundoff = 1.0 / (1 << 24);

    /// <summary>Largest float64 reference an operation may cost; a larger one is checked on fewer images.</summary>
    public const long MaxMultiplyAddsPerOp = 8_000_000;

    public const int DefaultRepeats = 3;

    /// <summary>The remedy named by every failure.</summary>
    public static string Remedy =>
        $"start the process with {OneDnnIsaGuard.IsaVariable}={OneDnnIsaGuard.SafeIsa} (or {OneDnnIsaGuard.ModeVariable}=on) in its environment; see docs/architecture.md, \"Numerics on every processor\"";

    public static double Gamma(long terms) => (terms + 1) * UnitRoundoff / (1 - (terms + 1) * UnitRoundoff);

    /// <summary>Checks the backbone's layer ops at <paramref name="inputShape"/> ([batch, channels, height, width]);
    /// throws <see cref="NumericsCheckException"/> naming the first op that fails.</summary>
    public static NumericsReport Run(nn.Module<Tensor, Tensor> backbone, long[] inputShape, int repeats = DefaultRepeats, long seed = 0)
    {
        var clock = Stopwatch.StartNew();
        var ops = OpsOf(backbone, inputShape);
        double worst = 0;
        string worstOp = "none";
        for (int i = 0; i < ops.Count; i++)
        {
            var op = Affordable(ops[i]);
            var ratio = Check(op, op.Apply, repeats, seed + i);
            if (ratio > worst) (worst, worstOp) = (ratio, op.ToString());
        }
        return new NumericsReport(ops.Count, get_num_threads(), repeats, clock.Elapsed.TotalSeconds, worst, worstOp);
    }

    /// <summary>
    /// The distinct convolution and linear ops of <paramref name="model"/>, each with the input shape it sees on a
    /// batch of <paramref name="inputShape"/>: found by one no-grad forward in eval mode (running statistics
    /// untouched) with a pre-hook on every such layer. Ops are distinct by kind and input shape.
    /// </summary>
    public static IReadOnlyList<CheckedOp> OpsOf(nn.Module<Tensor, Tensor> model, long[] inputShape)
    {
        var found = new Dictionary<string, CheckedOp>();
        var hooks = new List<Action>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is not nn.Module<Tensor, Tensor> layer || CheckedOp.Of(name, module, [1]) is null) continue;
            var remover = layer.register_forward_pre_hook((m, x) =>
            {
                var op = CheckedOp.Of(name, m, x.shape)!;
                found.TryAdd(op.Kind + "|" + string.Join(",", op.InputShape), op);
                return x;
            });
            hooks.Add(remover.remove);
        }
        bool training = model.training;
        try
        {
            model.eval();
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            model.call(zeros(inputShape));
        }
        finally
        {
            model.train(training);
            foreach (var remove in hooks) remove();
        }
        if (found.Count == 0) throw new ArgumentException($"the model has no convolution or linear layer that a forward on [{string.Join(", ", inputShape)}] reaches", nameof(model));
        return found.Values.ToList();
    }

    /// <summary>The op on as many of its images as a float64 reference of <see cref="MaxMultiplyAddsPerOp"/> allows (at least one).</summary>
    public static CheckedOp Affordable(CheckedOp op)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var perImage = op.MultiplyAdds(op.Apply(zeros(op.WithBatch(1).InputShape), zeros(op.WeightShape)).shape);
        long batch = Math.Clamp(MaxMultiplyAddsPerOp / Math.Max(1, perImage), 1, op.InputShape[0]);
        return batch == op.InputShape[0] ? op : op.WithBatch(batch);
    }

    /// <summary>
    /// Runs <paramref name="candidate"/> (float32, at the current thread count) <paramref name="repeats"/> times on
    /// seeded inputs and compares its forward result, input gradient and weight gradient with <paramref name="op"/> in
    /// float64, element by element, against the rounding bound. Returns the largest error as a fraction of its bound;
    /// throws <see cref="NumericsCheckException"/> when it is not finite or above 1.
    /// </summary>
    public static double Check(CheckedOp op, Func<Tensor, Tensor, Tensor> candidate, int repeats = DefaultRepeats, long seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed);
        var x = randn(op.InputShape, generator: generator);
        var w = randn(op.WeightShape, generator: generator);

        Tensor? drawn = null;
        var (exact, exactX, exactW) = Float64(op, x, w, shape => drawn = randn(shape, generator: generator));
        var g = drawn!;
        // Σ|x||w| for every element of each result: the same op, linear in each argument, on absolute values.
        var (bound, boundX, boundW) = Float64(op, x.abs(), w.abs(), _ => g.abs());
        var (kForward, kInput, kWeight) = op.Terms(g.shape);

        double worst = 0;
        for (int r = 0; r < repeats; r++)
        {
            using var repeat = NewDisposeScope();
            var xr = x.clone().requires_grad_(true);
            var wr = w.clone().requires_grad_(true);
            var y = candidate(xr, wr);
            y.backward([g]);
            worst = Math.Max(worst, Ratio(op, "forward", y, exact, bound, kForward));
            worst = Math.Max(worst, Ratio(op, "input gradient", xr.grad!, exactX, boundX, kInput));
            worst = Math.Max(worst, Ratio(op, "weight gradient", wr.grad!, exactW, boundW, kWeight));
        }
        return worst;
    }

    /// <summary>The op in float64, back-propagating the output gradient <paramref name="outputGradient"/> gives for its shape.</summary>
    private static (Tensor Y, Tensor Dx, Tensor Dw) Float64(CheckedOp op, Tensor x, Tensor w, Func<long[], Tensor> outputGradient)
    {
        var x64 = x.to(float64).requires_grad_(true);
        var w64 = w.to(float64).requires_grad_(true);
        var y = op.Apply(x64, w64);
        y.backward([outputGradient(y.shape).to(float64)]);
        return (y.detach(), x64.grad!, w64.grad!);
    }

    private static double Ratio(CheckedOp op, string what, Tensor candidate, Tensor exact, Tensor bound, long terms)
    {
        using var scope = NewDisposeScope();
        var c = candidate.detach().to(float64);
        if (!c.isfinite().all().item<bool>())
            throw Failure(op, what, $"{c.isnan().sum().item<long>()} NaN and {c.isinf().sum().item<long>()} infinite values");
        // The float64 reference and bound carry their own rounding (≤ γ64(K)·Σ|x||w|, ~1e-12 relative): negligible
        // beside γ(K), and covered by the +1 term. The smallest normal float absorbs exact zeros.
        var ratio = (c - exact).abs().div(bound.mul(Gamma(terms)).add(1e-37)).max().item<double>();
        if (ratio > 1)
        {
            var relative = ((c - exact).abs().max() / exact.abs().max().clamp_min(1e-37)).item<double>();
            throw Failure(op, what, Invariant($"an error {ratio:G3} times its float32 rounding bound (largest error {relative:G3} of the largest value)"));
        }
        return ratio;
    }

    private static NumericsCheckException Failure(CheckedOp op, string what, string found) => new(
        $"numerics self-check failed: {op}, {what} at {get_num_threads()} intra-op threads: {found}, against the same op in float64. " +
        $"This processor's CPU kernels compute wrong results ({CpuIdentity.Current}; {OneDnnIsaGuard.Decision}), so this process will not train on them. Remedy: {Remedy}.");
}
