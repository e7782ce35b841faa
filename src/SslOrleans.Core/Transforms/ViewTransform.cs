using SslOrleans.Core.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Transforms;

/// <summary>
/// Seeded augmentation of a whole batch at once: random resized crop + flip as one affine resampling, colour
/// jitter, random grayscale, Gaussian blur, solarize, then per-channel normalisation. Per-sample parameters come
/// from <see cref="DeterministicRandom"/>, so a view depends only on (images, recipe, seed).
/// </summary>
/// <remarks>
/// <para>
/// One-channel images (and any channel count other than 3) take the original path: jitter is brightness then
/// contrast (contrast around the image mean) and nothing else is drawn, so their parameter draws and their views
/// are exactly those of the transform before colour recipes.
/// </para>
/// <para>
/// Three-channel (RGB) images follow torchvision's <c>RandomApply(ColorJitter, p)</c> then <c>RandomGrayscale</c>:
/// brightness, contrast, saturation and hue are applied in a random order drawn per sample; contrast blends with
/// the mean of the grey image, saturation with the grey image, hue shifts H in HSV (torchvision's
/// <c>_rgb2hsv</c>/<c>_hsv2rgb</c>); grey is luma 0.299 R + 0.587 G + 0.114 B (ITU-R 601, what PIL's "L"
/// conversion uses, and so what solo-learn's PIL pipeline sees) on all three channels. The colour parameters are
/// drawn after each sample's existing draws, and only for RGB input.
/// </para>
/// </remarks>
public static class ViewTransform
{
    private const double RatioMin = 3.0 / 4.0, RatioMax = 4.0 / 3.0;
    private const int OpBrightness = 0, OpContrast = 1, OpSaturation = 2, OpHue = 3, JitterOps = 4;

    /// <param name="images">[n, C, H, W], values in [0, 1].</param>
    /// <param name="mean">Per-channel mean: one value for every channel, or C values.</param>
    /// <param name="std">Per-channel standard deviation, as long as <paramref name="mean"/>.</param>
    public static Tensor Apply(Tensor images, ViewRecipe recipe, ulong seed, float[] mean, float[] std)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            return ApplyUntimed(images, recipe, seed, mean, std);
        }
        finally
        {
            ticksOnThread += System.Diagnostics.Stopwatch.GetTimestamp() - start;
        }
    }

    [ThreadStatic] private static long ticksOnThread;

    /// <summary>Stopwatch ticks this thread has spent in <see cref="Apply"/>: a replica's timings take the views out of its forward.</summary>
    internal static long TicksOnThread => ticksOnThread;

    private static Tensor ApplyUntimed(Tensor images, ViewRecipe recipe, ulong seed, float[] mean, float[] std)
    {
        if (images.ndim != 4) throw new ArgumentException("images must be [n, C, H, W]", nameof(images));
        int n = (int)images.shape[0];
        long channels = images.shape[1], h = images.shape[2];
        CheckStats(mean, std, channels);
        var d = Draw(n, channels == 3, recipe, seed);

        using var thetaT = tensor(d.Theta, [n, 2, 3]);
        using var grid = functional.affine_grid(thetaT, images.shape, align_corners: false);
        var x = functional.grid_sample(images, grid, mode: GridSampleMode.Bilinear, padding_mode: GridSamplePaddingMode.Reflection, align_corners: false);

        if (d.Colour)
        {
            x = ColourJitter(x, d.Jittered, d.Order, d.Brightness, d.Contrast, d.Saturation, d.Hue);
            x = RandomGrayscale(x, d.Grey);
        }
        else
        {
            x = Jitter(x, d.Brightness, d.Contrast);
        }
        x = Blur(x, d.Sigma, KernelSize(h));
        using var sol = tensor(d.Solarize).view(n, 1, 1, 1);
        x = where(sol.Above(0.5) & x.AtLeast(0.5), x.SubtractedFrom(1), x);
        return Normalize(x, mean, std);
    }

    /// <summary>Evaluation transform: per-channel normalisation only, <c>(x[c] − mean[c]) / std[c]</c>.</summary>
    /// <param name="images">[n, C, H, W].</param>
    /// <param name="mean">One value for every channel, or C values.</param>
    /// <param name="std">As long as <paramref name="mean"/>.</param>
    public static Tensor Normalize(Tensor images, float[] mean, float[] std)
    {
        if (images.ndim != 4) throw new ArgumentException("images must be [n, C, H, W]", nameof(images));
        long channels = images.shape[1];
        CheckStats(mean, std, channels);
        // One statistic: the scalar operations of the original transform, so one-channel views stay bit-identical.
        if (mean.Length == 1) return images.Minus(mean[0]).Over(std[0]);
        using var m = tensor(mean).view(1, channels, 1, 1);
        using var sd = tensor(std).view(1, channels, 1, 1);
        using var centred = images - m;
        return centred / sd;
    }

    /// <summary>
    /// Every sample's parameters, in the order they are drawn: per sample, crop, flip, jitter (brightness, contrast),
    /// blur, solarize, then — only when <paramref name="colour"/> — saturation, hue, the jitter order and grayscale.
    /// </summary>
    internal static ViewParameters Draw(int n, bool colour, ViewRecipe recipe, ulong seed)
    {
        var rng = new DeterministicRandom(seed);
        var d = new ViewParameters(n, colour);
        for (int i = 0; i < n; i++)
        {
            var (cw, ch, cx, cy) = SampleCrop(rng, recipe);
            float flip = rng.Bernoulli(recipe.FlipProbability) ? -1f : 1f;
            // affine_grid maps output coordinates in [-1, 1] to input coordinates: a crop of relative size
            // (cw, ch) centred at (cx, cy) in normalised coordinates; a negative x scale mirrors it.
            d.Theta[i * 6 + 0] = (float)cw * flip; d.Theta[i * 6 + 1] = 0; d.Theta[i * 6 + 2] = (float)cx;
            d.Theta[i * 6 + 3] = 0; d.Theta[i * 6 + 4] = (float)ch; d.Theta[i * 6 + 5] = (float)cy;
            bool jitter = rng.Bernoulli(recipe.JitterProbability);
            d.Jittered[i] = jitter;
            d.Brightness[i] = jitter ? (float)rng.Uniform(Math.Max(0, 1 - recipe.Brightness), 1 + recipe.Brightness) : 1f;
            d.Contrast[i] = jitter ? (float)rng.Uniform(Math.Max(0, 1 - recipe.Contrast), 1 + recipe.Contrast) : 1f;
            d.Sigma[i] = rng.Bernoulli(recipe.BlurProbability) ? (float)rng.Uniform(recipe.BlurSigmaMin, recipe.BlurSigmaMax) : 0f;
            d.Solarize[i] = rng.Bernoulli(recipe.SolarizeProbability) ? 1f : 0f;
            // Colour draws come after the draws above and only for RGB, so other images see the same stream as before.
            if (colour)
            {
                d.Saturation[i] = jitter ? (float)rng.Uniform(Math.Max(0, 1 - recipe.Saturation), 1 + recipe.Saturation) : 1f;
                d.Hue[i] = jitter ? (float)rng.Uniform(-recipe.Hue, recipe.Hue) : 0f;
                SampleOrder(rng, jitter, d.Order.AsSpan(i * JitterOps, JitterOps));
                d.Grey[i] = rng.Bernoulli(recipe.GrayscaleProbability);
            }
        }
        return d;
    }

    /// <summary>The per-sample parameters of one batch's views; the colour arrays are empty unless <see cref="Colour"/>.</summary>
    internal sealed class ViewParameters(int n, bool colour)
    {
        public bool Colour { get; } = colour;
        /// <summary>affine_grid's [n, 2, 3] matrices, flattened.</summary>
        public float[] Theta { get; } = new float[n * 6];
        public bool[] Jittered { get; } = new bool[n];
        public float[] Brightness { get; } = new float[n];
        public float[] Contrast { get; } = new float[n];
        /// <summary>Blur σ; 0 is no blur.</summary>
        public float[] Sigma { get; } = new float[n];
        /// <summary>1 solarizes, 0 does not.</summary>
        public float[] Solarize { get; } = new float[n];
        public float[] Saturation { get; } = colour ? new float[n] : [];
        /// <summary>Hue shift in turns.</summary>
        public float[] Hue { get; } = colour ? new float[n] : [];
        /// <summary>Per sample, the four jitter operations (0 brightness, 1 contrast, 2 saturation, 3 hue) in the order applied.</summary>
        public int[] Order { get; } = colour ? new int[n * JitterOps] : [];
        public bool[] Grey { get; } = colour ? new bool[n] : [];
    }

    private static void CheckStats(float[] mean, float[] std, long channels)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length != std.Length || (mean.Length != 1 && mean.Length != channels))
            throw new ArgumentException($"mean and std need 1 or {channels} values each, got {mean.Length} and {std.Length}");
    }

    // The order ColorJitter applies its four operations in: torchvision's randperm(4), here a Fisher-Yates shuffle.
    // Drawn only for jittered samples (torchvision draws it inside the RandomApply).
    private static void SampleOrder(DeterministicRandom rng, bool jitter, Span<int> order)
    {
        for (int k = 0; k < order.Length; k++) order[k] = k;
        if (!jitter) return;
        for (int k = order.Length - 1; k > 0; k--)
        {
            int j = (int)(rng.NextDouble() * (k + 1));
            (order[k], order[j]) = (order[j], order[k]);
        }
    }

    // torchvision's RandomResizedCrop: area fraction in scale, log-uniform aspect ratio, 10 tries, else whole image.
    private static (double W, double H, double Cx, double Cy) SampleCrop(DeterministicRandom rng, ViewRecipe r)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double area = rng.Uniform(r.CropScaleMin, r.CropScaleMax);
            double ratio = Math.Exp(rng.Uniform(Math.Log(RatioMin), Math.Log(RatioMax)));
            double w = Math.Sqrt(area * ratio), h = Math.Sqrt(area / ratio);
            if (w <= 1 && h <= 1)
            {
                double cx = rng.Uniform(-(1 - w), 1 - w), cy = rng.Uniform(-(1 - h), 1 - h);
                return (w, h, cx, cy);
            }
        }
        return (1, 1, 0, 0);
    }

    private static Tensor Jitter(Tensor x, float[] brightness, float[] contrast)
    {
        int n = brightness.Length;
        using var b = tensor(brightness).view(n, 1, 1, 1);
        using var c = tensor(contrast).view(n, 1, 1, 1);
        x = (x * b).ClampTo(0, 1);
        var m = x.mean([1, 2, 3], keepdim: true);
        return ((x - m) * c).Plus(m).ClampTo(0, 1);
    }

    // torchvision's ColorJitter on RGB: step k applies, to each jittered sample, the operation at position k of its
    // order. Each operation is computed on the samples that take it at that step only, so every sample goes
    // through exactly its four operations, as it would alone.
    private static Tensor ColourJitter(Tensor x, bool[] jittered, int[] order, float[] brightness, float[] contrast, float[] saturation, float[] hue)
    {
        int n = jittered.Length;
        for (int step = 0; step < JitterOps; step++)
        {
            for (int op = 0; op < JitterOps; op++)
            {
                var rows = new List<long>();
                for (int i = 0; i < n; i++)
                    if (jittered[i] && order[i * JitterOps + step] == op) rows.Add(i);
                if (rows.Count == 0) continue;
                var factors = op switch { OpBrightness => brightness, OpContrast => contrast, OpSaturation => saturation, _ => hue };
                using var scope = NewDisposeScope();
                var index = tensor(rows.ToArray());
                var f = tensor(rows.Select(i => factors[i]).ToArray()).view(rows.Count, 1, 1, 1);
                var part = x.index_select(0, index);
                var changed = op switch
                {
                    OpBrightness => AdjustBrightness(part, f),
                    OpContrast => AdjustContrast(part, f),
                    OpSaturation => AdjustSaturation(part, f),
                    _ => AdjustHue(part, f),
                };
                x = x.index_copy(0, index, changed).MoveToOuterDisposeScope();
            }
        }
        return x;
    }

    private static readonly float[] LumaWeights = [0.299f, 0.587f, 0.114f];

    /// <summary>Luma 0.299 R + 0.587 G + 0.114 B of [n, 3, H, W] images, as [n, 1, H, W].</summary>
    internal static Tensor Grey(Tensor rgb)
    {
        using var w = tensor(LumaWeights).view(1, 3, 1, 1);
        using var weighted = rgb * w;
        return weighted.sum(1, keepdim: true);
    }

    // torchvision's _blend: (ratio · a + (1 − ratio) · b) clamped to [0, 1]; ratio is [n, 1, 1, 1].
    private static Tensor Blend(Tensor a, Tensor b, Tensor ratio)
    {
        using var rest = ratio.SubtractedFrom(1);
        using var left = a * ratio;
        using var right = b * rest;
        using var sum = left.Plus(right);
        return sum.ClampTo(0, 1);
    }

    /// <summary>torchvision's adjust_brightness: the image scaled by the factor, clamped.</summary>
    internal static Tensor AdjustBrightness(Tensor x, Tensor factor)
    {
        using var scaled = x * factor;
        return scaled.ClampTo(0, 1);
    }

    /// <summary>torchvision's adjust_contrast on RGB: a blend with the mean of the grey image.</summary>
    internal static Tensor AdjustContrast(Tensor x, Tensor factor)
    {
        using var grey = Grey(x);
        using var mean = grey.mean([1, 2, 3], keepdim: true);
        return Blend(x, mean, factor);
    }

    /// <summary>torchvision's adjust_saturation: a blend with the grey image.</summary>
    internal static Tensor AdjustSaturation(Tensor x, Tensor factor)
    {
        using var grey = Grey(x);
        return Blend(x, grey, factor);
    }

    /// <summary>torchvision's adjust_hue: H shifted by the factor (in turns, mod 1) in HSV.</summary>
    internal static Tensor AdjustHue(Tensor x, Tensor factor)
    {
        using var scope = NewDisposeScope();
        var hsv = RgbToHsv(x);
        var parts = hsv.unbind(1);
        var shifted = parts[0].Plus(factor.view(-1, 1, 1)).Modulo(1);
        return HsvToRgb(shifted, parts[1], parts[2]).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision's _rgb2hsv, batched: [n, 3, H, W] in [0, 1] to (h, s, v) in [0, 1], stacked on dim 1.</summary>
    internal static Tensor RgbToHsv(Tensor x)
    {
        using var scope = NewDisposeScope();
        var rgb = x.unbind(1);
        Tensor r = rgb[0], g = rgb[1], b = rgb[2];
        var maxc = x.amax([1]);
        var minc = x.amin([1]);
        // Where max == min (grey), both divisors become 1: s is 0 and h is irrelevant (torchvision's comment).
        var eqc = maxc.eq(minc);
        var cr = maxc - minc;
        var ones = ones_like(maxc);
        var s = cr / where(eqc, ones, maxc);
        var divisor = where(eqc, ones, cr);
        var rc = (maxc - r) / divisor;
        var gc = (maxc - g) / divisor;
        var bc = (maxc - b) / divisor;
        var zeros = zeros_like(maxc);
        var maxIsR = maxc.eq(r);
        var maxIsG = maxc.eq(g) & maxc.ne(r);
        var maxIsB = maxc.ne(g) & maxc.ne(r);
        var hr = where(maxIsR, bc - gc, zeros);
        var hg = where(maxIsG, rc.Plus(2) - bc, zeros);
        var hb = where(maxIsB, gc.Plus(4) - rc, zeros);
        var h = hr.Plus(hg).Plus(hb).Over(6).Plus(1).Modulo(1);
        return stack([h, s, maxc], 1).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision's _hsv2rgb, batched: h, s, v [n, H, W] to [n, 3, H, W].</summary>
    internal static Tensor HsvToRgb(Tensor h, Tensor s, Tensor v)
    {
        using var scope = NewDisposeScope();
        var h6 = h.Times(6);
        var sector = h6.floor();
        var f = h6 - sector;
        // Sector in 0..5; h may round up to exactly 1 (torchvision's i % 6). The modulo is taken in float, where
        // these small integers are exact, through ScalarOps' rooted scalar.
        var i = sector.Modulo(6).to_type(ScalarType.Int64).unsqueeze(1);
        var p = (v * s.SubtractedFrom(1)).ClampTo(0, 1);
        var q = (v * (s * f).SubtractedFrom(1)).ClampTo(0, 1);
        var t = (v * (s * f.SubtractedFrom(1)).SubtractedFrom(1)).ClampTo(0, 1);
        // torchvision sums one-hot-masked candidates; gathering the selected candidate gives the same values.
        var red = stack([v, q, p, p, t, v], 1).gather(1, i);
        var green = stack([t, v, v, q, p, p], 1).gather(1, i);
        var blue = stack([p, p, t, v, v, q], 1).gather(1, i);
        return cat([red, green, blue], 1).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision's RandomGrayscale on RGB: the selected samples become their luma on all three channels.</summary>
    private static Tensor RandomGrayscale(Tensor x, bool[] grey)
    {
        var rows = Enumerable.Range(0, grey.Length).Where(i => grey[i]).Select(i => (long)i).ToArray();
        if (rows.Length == 0) return x;
        using var scope = NewDisposeScope();
        var index = tensor(rows);
        var part = x.index_select(0, index);
        var luma = Grey(part).expand(rows.Length, 3, x.shape[2], x.shape[3]).contiguous();
        return x.index_copy(0, index, luma).MoveToOuterDisposeScope();
    }

    // Separable Gaussian blur with a per-sample σ (σ = 0 leaves the image unchanged), as one grouped convolution.
    private static Tensor Blur(Tensor x, float[] sigma, int k)
    {
        int n = sigma.Length;
        long c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var weights = new float[n * k];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < k; j++)
            {
                int d = j - k / 2;
                double v = sigma[i] <= 0 ? (d == 0 ? 1 : 0) : Math.Exp(-d * d / (2.0 * sigma[i] * sigma[i]));
                weights[i * k + j] = (float)v;
                sum += v;
            }
            for (int j = 0; j < k; j++) weights[i * k + j] /= (float)sum;
        }
        using var kernel = tensor(weights, [n, 1, k]).repeat_interleave(c, dim: 0);
        var flat = x.reshape(1, n * c, h, w);
        var padded = functional.pad(flat, [k / 2, k / 2, k / 2, k / 2], TorchSharp.PaddingModes.Reflect);
        var horizontal = functional.conv2d(padded, kernel.view(n * c, 1, 1, k), groups: n * c);
        var vertical = functional.conv2d(horizontal, kernel.view(n * c, 1, k, 1), groups: n * c);
        return vertical.reshape(n, c, h, w);
    }

    // torchvision recipes use a kernel of about 10 % of the image side, odd.
    private static int KernelSize(long side) => Math.Max(3, (int)(side / 10) | 1);
}
