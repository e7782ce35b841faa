using System.Numerics;
using System.Runtime.InteropServices;

namespace SslOrleans.Core.Training;

/// <summary>
/// The optimizer and the EMA update over flat slices, tensor by tensor. Elementwise except for LARS's
/// per-tensor norms, which is why a shard always owns whole tensors.
/// </summary>
public static class FlatOptimizer
{
    /// <summary>SGD or LARS (momentum only).</summary>
    public static void Step(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentum,
        IReadOnlyList<SliceTensor> tensors, OptimizerSettings s, double lr) =>
        Step(param, grad, momentum, [], tensors, s, lr, step: 0);

    /// <param name="variance">AdamW's second moment (same length as <paramref name="param"/>); empty otherwise.</param>
    /// <param name="step">0-based optimizer step, for AdamW's bias correction.</param>
    public static void Step(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentum, Span<float> variance,
        IReadOnlyList<SliceTensor> tensors, OptimizerSettings s, double lr, long step)
    {
        if (grad.Length != param.Length || momentum.Length != param.Length)
            throw new ArgumentException($"param ({param.Length}), grad ({grad.Length}) and momentum ({momentum.Length}) lengths differ");
        if (s.NeedsSecondMoment && variance.Length != param.Length)
            throw new ArgumentException($"AdamW needs a second moment of {param.Length} values, got {variance.Length}");
        foreach (var t in tensors)
        {
            var w = param.Slice((int)t.Offset, (int)t.Length);
            var g = grad.Slice((int)t.Offset, (int)t.Length);
            var m = momentum.Slice((int)t.Offset, (int)t.Length);
            double wd = t.Excluded ? 0 : s.WeightDecay;
            if (s.Kind == OptimizerKind.AdamW) AdamW(w, g, m, variance.Slice((int)t.Offset, (int)t.Length), s, lr, wd, step);
            else MomentumStep(w, g, m, s, lr, wd, !t.Excluded && s.Kind == OptimizerKind.Lars);
        }
    }

    private static void MomentumStep(Span<float> w, ReadOnlySpan<float> g, Span<float> m, OptimizerSettings s, double lr, double wd, bool adapt)
    {
        double scale = 1;
        if (adapt)
        {
            double pn = Norm(w), gn = Norm(g);
            if (pn > 0 && gn > 0)
            {
                scale = s.Eta * pn / (gn + wd * pn + s.Eps);
                if (s.ClipLr) scale = Math.Min(scale / lr, 1);
            }
        }
        float mu = (float)s.Momentum, fwd = (float)wd, fscale = (float)scale, flr = (float)lr;
        // SIMD lanes do the same float operations in the same order (no fused multiply-add), so the result is the
        // scalar loop's to the bit; the scalar loop takes the tail.
        var vw = MemoryMarshal.Cast<float, Vector<float>>(w);
        var vg = MemoryMarshal.Cast<float, Vector<float>>(g);
        var vm = MemoryMarshal.Cast<float, Vector<float>>(m);
        Vector<float> vmu = new(mu), vwd = new(fwd), vscale = new(fscale), vlr = new(flr);
        for (int k = 0; k < vw.Length; k++)
        {
            var d = (vg[k] + vwd * vw[k]) * vscale;
            vm[k] = vmu * vm[k] + d;
            vw[k] -= vlr * (s.Nesterov ? d + vmu * vm[k] : vm[k]);
        }
        for (int i = vw.Length * Vector<float>.Count; i < w.Length; i++)
        {
            float d = (g[i] + fwd * w[i]) * fscale;
            m[i] = mu * m[i] + d;
            // Nesterov (PyTorch's form): step along d + μ·buffer instead of the buffer.
            w[i] -= flr * (s.Nesterov ? d + mu * m[i] : m[i]);
        }
    }

    // PyTorch's AdamW: w ← w·(1 − lr·wd), then w ← w − lr·m̂/(√v̂ + ε) with bias-corrected moments.
    private static void AdamW(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v, OptimizerSettings s, double lr, double wd, long step)
    {
        float b1 = (float)s.Beta1, b2 = (float)s.Beta2, eps = (float)s.Eps;
        float c1 = (float)(1 - Math.Pow(s.Beta1, step + 1)), c2 = (float)(1 - Math.Pow(s.Beta2, step + 1));
        float flr = (float)lr, decay = (float)(1 - lr * wd);
        for (int i = 0; i < w.Length; i++)
        {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            w[i] = w[i] * decay - flr * (m[i] / c1) / (MathF.Sqrt(v[i] / c2) + eps);
        }
    }

    /// <summary>mean[i] = (float)(sum[i] / count): the float64 sums of a step rounded to float32 once.</summary>
    public static void MeanToSingle(ReadOnlySpan<double> sum, double count, Span<float> mean)
    {
        if (mean.Length != sum.Length) throw new ArgumentException($"sum ({sum.Length}) and mean ({mean.Length}) lengths differ");
        // IEEE division and double → float rounding are the same in SIMD lanes as one at a time.
        var vs = MemoryMarshal.Cast<double, Vector<double>>(sum);
        var vmean = MemoryMarshal.Cast<float, Vector<float>>(mean);
        var vn = new Vector<double>(count);
        int pairs = Math.Min(vs.Length / 2, vmean.Length);
        for (int k = 0; k < pairs; k++) vmean[k] = Vector.Narrow(vs[2 * k] / vn, vs[2 * k + 1] / vn);
        for (int i = pairs * Vector<float>.Count; i < sum.Length; i++) mean[i] = (float)(sum[i] / count);
    }

    /// <summary>target ← τ·target + (1 − τ)·online.</summary>
    public static void Ema(Span<float> target, ReadOnlySpan<float> online, double tau)
    {
        if (target.Length > online.Length) throw new ArgumentException("target longer than online slice");
        float a = (float)tau, b = (float)(1 - tau);
        for (int i = 0; i < target.Length; i++) target[i] = a * target[i] + b * online[i];
    }

    private static double Norm(ReadOnlySpan<float> v)
    {
        double sum = 0;
        foreach (var x in v) sum += (double)x * x;
        return Math.Sqrt(sum);
    }
}
