namespace SslOrleans.Core.Training;

/// <summary>
/// The optimizer and the EMA update over flat slices, tensor by tensor. Elementwise except for LARS's
/// per-tensor norms, which is why a shard always owns whole tensors.
/// </summary>
public static class FlatOptimizer
{
    public static void Step(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentum,
        IReadOnlyList<SliceTensor> tensors, OptimizerSettings s, double lr)
    {
        if (grad.Length != param.Length || momentum.Length != param.Length)
            throw new ArgumentException($"param ({param.Length}), grad ({grad.Length}) and momentum ({momentum.Length}) lengths differ");
        foreach (var t in tensors)
        {
            var w = param.Slice((int)t.Offset, (int)t.Length);
            var g = grad.Slice((int)t.Offset, (int)t.Length);
            var m = momentum.Slice((int)t.Offset, (int)t.Length);
            double wd = t.Excluded ? 0 : s.WeightDecay;
            double scale = 1;
            if (s.Kind == OptimizerKind.Lars && !t.Excluded)
            {
                double pn = Norm(w), gn = Norm(g);
                if (pn > 0 && gn > 0)
                {
                    scale = s.Eta * pn / (gn + wd * pn + s.Eps);
                    if (s.ClipLr) scale = Math.Min(scale / lr, 1);
                }
            }
            float mu = (float)s.Momentum, fwd = (float)wd, fscale = (float)scale, flr = (float)lr;
            for (int i = 0; i < w.Length; i++)
            {
                float d = (g[i] + fwd * w[i]) * fscale;
                m[i] = mu * m[i] + d;
                w[i] -= flr * m[i];
            }
        }
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
