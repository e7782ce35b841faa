using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Methods;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// How many parameters a spec's model has, without building it at its width: a model of width w is built at the widths
/// 4, 8, 12, 16 and 20 (cheap), and the count is extended to w by the cubic through the first four, which the fifth must
/// confirm. Every layer of our backbones and heads has a size polynomial in the width of degree at most two (convolutions
/// and linear layers from one width-scaled size to another; norms, biases and stems linear; MAE's decoder in steps of four
/// widths, which these widths and rounding w up to a multiple of four follow), so the result is exact for widths that are
/// multiples of four and an upper bound otherwise (a model only grows with its width).
/// </summary>
public static class ParameterEstimate
{
    private const int Step = 4;

    public static long Of(RunSpec spec)
    {
        spec = RunPlan.WithMethodDefaults(spec);
        if (spec.Width <= 5 * Step) return Count(spec, spec.Width);
        var c = Enumerable.Range(1, 5).Select(k => Count(spec, k * Step)).ToArray();
        // Newton's forward differences on the equally spaced widths.
        long d1 = c[1] - c[0], d2 = c[2] - 2 * c[1] + c[0], d3 = c[3] - 3 * c[2] + 3 * c[1] - c[0];
        if (c[4] - 4 * c[3] + 6 * c[2] - 4 * c[1] + c[0] != 0)
            throw new InvalidOperationException($"the parameter count of {spec.Method} ({spec.Backbone}) is not a polynomial of the width: " +
                string.Join(", ", c.Select((n, k) => $"{(k + 1) * Step}: {n}")));
        double t = Math.Ceiling(spec.Width / (double)Step) - 1; // widths counted in steps from the first
        double estimate = c[0] + t * d1 + t * (t - 1) / 2 * d2 + t * (t - 1) * (t - 2) / 6 * d3;
        return estimate >= long.MaxValue ? long.MaxValue : (long)Math.Round(estimate);
    }

    /// <summary>Trainable parameters of the spec's model built at <paramref name="width"/> (its online network: what the
    /// optimizer updates; a target network is a copy of part of it).</summary>
    public static long Count(RunSpec spec, int width)
    {
        spec = RunPlan.WithMethodDefaults(spec with { Width = width });
        using var scope = TorchSharp.torch.NewDisposeScope();
        using var method = MethodRegistry.Create(RunSpecOptions.Method(spec, spec.Channels, spec.ImageSize));
        return method.Online.parameters().Sum(p => p.numel());
    }
}
