using SslOrleans.Core.Training;

namespace SslOrleans.Core.Tests.Training;

public sealed class FlatOptimizerTests
{
    [Fact]
    public void Ema_moves_the_target_towards_the_online_weights()
    {
        var target = new float[] { 1, 2, 3 };
        FlatOptimizer.Ema(target, new float[] { 3, 2, 1, 99 }, 0.75);
        Assert.Equal(new[] { 1.5f, 2f, 2.5f }, target);
    }

    [Fact]
    public void Sgd_with_momentum_and_decay_matches_the_hand_computed_steps()
    {
        var w = new float[] { 1f, -2f };
        var m = new float[2];
        var s = new OptimizerSettings(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 0.1);
        var tensors = new[] { new SliceTensor(0, 2, false) };
        FlatOptimizer.Step(w, new float[] { 0.5f, 0.5f }, m, tensors, s, lr: 0.1);
        // d = g + 0.1 w = (0.6, 0.3); m = d; w -= 0.1 m
        Assert.Equal(0.94f, w[0], 6); Assert.Equal(-2.03f, w[1], 6);
        FlatOptimizer.Step(w, new float[] { 0.5f, 0.5f }, m, tensors, s, lr: 0.1);
        // d = (0.5 + 0.094, 0.5 − 0.203); m = 0.9 m + d
        Assert.Equal(0.94f - 0.1f * (0.9f * 0.6f + 0.594f), w[0], 5);
        Assert.Equal(-2.03f - 0.1f * (0.9f * 0.3f + 0.297f), w[1], 5);
    }

    [Fact]
    public void Lars_scales_each_tensor_by_its_trust_ratio_and_leaves_excluded_tensors_alone()
    {
        var w = new float[] { 3f, 4f, 1f };           // tensor 0: ‖w‖ = 5; tensor 1 (a bias): excluded
        var g = new float[] { 0.6f, 0.8f, 2f };        // ‖g‖ = 1
        var m = new float[3];
        var s = new OptimizerSettings(OptimizerKind.Lars, Momentum: 0.9, WeightDecay: 0.01, Eta: 0.02, ClipLr: true, Eps: 0);
        double lr = 1.0;
        FlatOptimizer.Step(w, g, m, new[] { new SliceTensor(0, 2, false), new SliceTensor(2, 1, true) }, s, lr);
        double trust = Math.Min(0.02 * 5 / (1 + 0.01 * 5) / lr, 1);
        Assert.Equal(3 - lr * (0.6 + 0.01 * 3) * trust, w[0], 5);
        Assert.Equal(4 - lr * (0.8 + 0.01 * 4) * trust, w[1], 5);
        Assert.Equal(1 - lr * 2, w[2], 5); // excluded: no decay, no adaptation
    }

    [Fact]
    public void Lengths_that_disagree_are_an_error() =>
        Assert.Throws<ArgumentException>(() => FlatOptimizer.Step(new float[2], new float[3], new float[2], [], new OptimizerSettings(), 1));

    [Fact]
    public void AdamW_matches_a_naive_loop_of_pytorchs_update()
    {
        var w = new float[] { 1f, -2f, 0.5f };
        var m = new float[3];
        var v = new float[3];
        var s = new OptimizerSettings(OptimizerKind.AdamW, WeightDecay: 0.05, Beta1: 0.9, Beta2: 0.999);
        var tensors = new[] { new SliceTensor(0, 2, false), new SliceTensor(2, 1, true) };
        var grads = new[] { new float[] { 0.3f, -0.1f, 0.2f }, new float[] { -0.2f, 0.4f, 0.1f } };
        double[] rw = [1, -2, 0.5], rm = new double[3], rv = new double[3];
        for (int t = 0; t < 2; t++)
        {
            FlatOptimizer.Step(w, grads[t], m, v, tensors, s, lr: 0.01, step: t);
            for (int i = 0; i < 3; i++)
            {
                double wd = i == 2 ? 0 : 0.05, g = grads[t][i];
                rw[i] *= 1 - 0.01 * wd;
                rm[i] = 0.9 * rm[i] + 0.1 * g;
                rv[i] = 0.999 * rv[i] + 0.001 * g * g;
                double mh = rm[i] / (1 - Math.Pow(0.9, t + 1)), vh = rv[i] / (1 - Math.Pow(0.999, t + 1));
                rw[i] -= 0.01 * mh / (Math.Sqrt(vh) + 1e-8);
            }
        }
        for (int i = 0; i < 3; i++) Assert.Equal(rw[i], w[i], 5);
        Assert.Throws<ArgumentException>(() => FlatOptimizer.Step(w, grads[0], m, new float[1], tensors, s, 0.01, 0));
    }

    [Fact]
    public void Nesterov_steps_along_the_gradient_plus_the_momentum_buffer()
    {
        var w = new float[] { 1f };
        var m = new float[1];
        var s = new OptimizerSettings(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 0, Nesterov: true);
        var tensors = new[] { new SliceTensor(0, 1, false) };
        FlatOptimizer.Step(w, new float[] { 1f }, m, tensors, s, lr: 0.1);
        // buffer = 1; step = g + 0.9·buffer = 1.9
        Assert.Equal(1f - 0.19f, w[0], 6);
        FlatOptimizer.Step(w, new float[] { 1f }, m, tensors, s, lr: 0.1);
        // buffer = 0.9 + 1 = 1.9; step = 1 + 0.9·1.9 = 2.71
        Assert.Equal(0.81f - 0.271f, w[0], 5);
    }

    [Fact]
    public void Unknown_optimizer_names_are_named()
    {
        Assert.Equal(OptimizerKind.AdamW, OptimizerSettings.ParseKind("AdamW"));
        Assert.Contains("'adam'", Assert.Throws<ArgumentException>(() => OptimizerSettings.ParseKind("adam")).Message);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, false)]
    [InlineData(OptimizerKind.Sgd, true)]
    [InlineData(OptimizerKind.Lars, false)]
    public void The_vectorised_momentum_step_equals_the_scalar_loop_to_the_bit(OptimizerKind kind, bool nesterov)
    {
        var random = new Random(11);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        const int n = 1003; // SIMD blocks and a scalar tail
        var w = Values(n);
        var g = Values(n);
        var m = Values(n);
        var s = new OptimizerSettings(kind, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: nesterov);
        var (w2, m2) = ((float[])w.Clone(), (float[])m.Clone());
        FlatOptimizer.Step(w, g, m, new[] { new SliceTensor(0, n, false) }, s, lr: 0.3);

        // The paper's update written one element at a time (LARS: the trust ratio from the float64 norms).
        double scale = 1;
        if (kind == OptimizerKind.Lars)
        {
            double pn = Math.Sqrt(w2.Sum(x => (double)x * x)), gn = Math.Sqrt(g.Sum(x => (double)x * x));
            scale = s.Eta * pn / (gn + s.WeightDecay * pn + s.Eps);
            if (s.ClipLr) scale = Math.Min(scale / 0.3, 1);
        }
        float mu = 0.9f, wd = 1e-4f, fs = (float)scale, lr = 0.3f;
        for (int i = 0; i < n; i++)
        {
            float d = (g[i] + wd * w2[i]) * fs;
            m2[i] = mu * m2[i] + d;
            w2[i] -= lr * (nesterov ? d + mu * m2[i] : m2[i]);
        }
        Assert.Equal(m2, m);
        Assert.Equal(w2, w);
    }

    [Fact]
    public void The_mean_of_the_float64_sums_is_rounded_once_exactly_as_one_element_at_a_time()
    {
        var random = new Random(5);
        var sum = Enumerable.Range(0, 1001).Select(_ => random.NextDouble() * 1e3 - 500).ToArray();
        var mean = new float[sum.Length];
        FlatOptimizer.MeanToSingle(sum, 3, mean);
        Assert.Equal(sum.Select(x => (float)(x / 3)).ToArray(), mean);
        Assert.Throws<ArgumentException>(() => FlatOptimizer.MeanToSingle(sum, 3, new float[5]));
    }
}
