using SslOrleans.Core;
using SslOrleans.Core.Training;
using SslOrleans.Core.Transforms;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Tests.Transforms;

/// <summary>
/// A verbatim copy of <c>ViewTransform</c> as it was before colour recipes (commit 1cc2a62): the reference that
/// proves one-channel views unchanged, draw for draw and bit for bit. Do not edit it to follow the production code.
/// </summary>
internal static class LegacyViewTransform
{
    private const double RatioMin = 3.0 / 4.0, RatioMax = 4.0 / 3.0;

    /// <param name="images">[n, C, H, W], values in [0, 1].</param>
    public static Tensor Apply(Tensor images, ViewRecipe recipe, ulong seed, float mean, float std)
    {
        if (images.ndim != 4) throw new ArgumentException("images must be [n, C, H, W]", nameof(images));
        int n = (int)images.shape[0];
        long h = images.shape[2];
        var rng = new DeterministicRandom(seed);

        var theta = new float[n * 6];
        var brightness = new float[n];
        var contrast = new float[n];
        var sigma = new float[n];
        var solarize = new float[n];
        for (int i = 0; i < n; i++)
        {
            var (cw, ch, cx, cy) = SampleCrop(rng, recipe);
            float flip = rng.Bernoulli(recipe.FlipProbability) ? -1f : 1f;
            // affine_grid maps output coordinates in [-1, 1] to input coordinates: a crop of relative size
            // (cw, ch) centred at (cx, cy) in normalised coordinates; a negative x scale mirrors it.
            theta[i * 6 + 0] = (float)cw * flip; theta[i * 6 + 1] = 0; theta[i * 6 + 2] = (float)cx;
            theta[i * 6 + 3] = 0; theta[i * 6 + 4] = (float)ch; theta[i * 6 + 5] = (float)cy;
            bool jitter = rng.Bernoulli(recipe.JitterProbability);
            brightness[i] = jitter ? (float)rng.Uniform(Math.Max(0, 1 - recipe.Brightness), 1 + recipe.Brightness) : 1f;
            contrast[i] = jitter ? (float)rng.Uniform(Math.Max(0, 1 - recipe.Contrast), 1 + recipe.Contrast) : 1f;
            sigma[i] = rng.Bernoulli(recipe.BlurProbability) ? (float)rng.Uniform(recipe.BlurSigmaMin, recipe.BlurSigmaMax) : 0f;
            solarize[i] = rng.Bernoulli(recipe.SolarizeProbability) ? 1f : 0f;
        }

        using var thetaT = tensor(theta, [n, 2, 3]);
        using var grid = functional.affine_grid(thetaT, images.shape, align_corners: false);
        var x = functional.grid_sample(images, grid, mode: GridSampleMode.Bilinear, padding_mode: GridSamplePaddingMode.Reflection, align_corners: false);

        x = Jitter(x, brightness, contrast);
        x = Blur(x, sigma, KernelSize(h));
        using var sol = tensor(solarize).view(n, 1, 1, 1);
        x = where(sol.Above(0.5) & x.AtLeast(0.5), x.SubtractedFrom(1), x);
        return x.Minus(mean).Over(std);
    }

    /// <summary>Evaluation transform: normalisation only.</summary>
    public static Tensor Normalize(Tensor images, float mean, float std) => images.Minus(mean).Over(std);

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
