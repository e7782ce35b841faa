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
}
