using SslOrleans.Core.Transforms;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Transforms;

/// <summary>
/// The batched colour operations against naive per-image references written from torchvision's definitions
/// (functional_tensor: _blend, rgb_to_grayscale, adjust_contrast/saturation/hue, _rgb2hsv, _hsv2rgb), looping over
/// pixels in double precision.
/// </summary>
/// <remarks>
/// Tolerance: the batched code computes in float32 from the same float32 inputs. Every value stays in [0, 6], and
/// each IEEE float32 operation rounds with relative error at most 2⁻²⁴ ≈ 6e-8, so the longest chain (hue: about
/// 15 operations) is off by less than 1e-5. The contrast mean sums H·W = 1024 grey values; even a naive
/// left-to-right sum is within 1024 · 6e-8 ≈ 6e-5 of the exact mean, whatever order the processor's vectorised
/// reduction takes. Hue sector choices (floor(6h)) may differ near a sector boundary, but _hsv2rgb is continuous
/// there, so the error stays of the same size. Hence <see cref="Tolerance"/> = 1e-4 holds on any CPU.
/// </remarks>
public sealed class ColourTransformTests
{
    private const double Tolerance = 1e-4;

    // Bit-for-bit equality: same shape, every element equal.
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    private const int Side = 32;

    private static Tensor Rgb(int n, long seed) => rand([n, 3, Side, Side], generator: new Generator((ulong)seed));

    private static double[,,] Image(Tensor batch, int index)
    {
        var values = batch[index].contiguous().data<float>().ToArray();
        var image = new double[3, Side, Side];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                    image[c, y, x] = values[(c * Side + y) * Side + x];
        return image;
    }

    private static void AssertClose(double[,,] expected, Tensor actual, int index, string what)
    {
        var values = actual[index].contiguous().data<float>().ToArray();
        double worst = 0;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                    worst = Math.Max(worst, Math.Abs(expected[c, y, x] - values[(c * Side + y) * Side + x]));
        Assert.True(worst < Tolerance, $"{what}, image {index}: off by {worst}");
    }

    private static Tensor Factors(params float[] f) => tensor(f).view(f.Length, 1, 1, 1);

    // --- references, from torchvision's definitions ---

    private static double Luma(double r, double g, double b) => 0.299 * r + 0.587 * g + 0.114 * b;

    private static double Clamp01(double v) => Math.Min(1, Math.Max(0, v));

    private static double[,,] RefBlend(double[,,] img, Func<int, int, int, double> other, double ratio)
    {
        var result = new double[3, Side, Side];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < Side; y++)
                for (int x = 0; x < Side; x++)
                    result[c, y, x] = Clamp01(ratio * img[c, y, x] + (1 - ratio) * other(c, y, x));
        return result;
    }

    private static double RefGrey(double[,,] img, int y, int x) => Luma(img[0, y, x], img[1, y, x], img[2, y, x]);

    private static double[,,] RefBrightness(double[,,] img, double f) => RefBlend(img, (_, _, _) => 0, f);

    private static double[,,] RefContrast(double[,,] img, double f)
    {
        double mean = 0;
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
                mean += RefGrey(img, y, x);
        mean /= Side * Side;
        return RefBlend(img, (_, _, _) => mean, f);
    }

    private static double[,,] RefSaturation(double[,,] img, double f) => RefBlend(img, (_, y, x) => RefGrey(img, y, x), f);

    private static (double H, double S, double V) RefRgbToHsv(double r, double g, double b)
    {
        double max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b));
        if (max == min) return (0, 0, max);
        double cr = max - min, s = cr / max;
        double rc = (max - r) / cr, gc = (max - g) / cr, bc = (max - b) / cr;
        double h = max == r ? bc - gc : max == g ? 2.0 + rc - bc : 4.0 + gc - rc;
        h = (h / 6.0 + 1.0) % 1.0;
        return (h, s, max);
    }

    private static (double R, double G, double B) RefHsvToRgb(double h, double s, double v)
    {
        double i = Math.Floor(h * 6.0), f = h * 6.0 - i;
        double p = Clamp01(v * (1 - s)), q = Clamp01(v * (1 - s * f)), t = Clamp01(v * (1 - s * (1 - f)));
        return (((int)i % 6 + 6) % 6) switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }

    private static double[,,] RefHue(double[,,] img, double shift)
    {
        var result = new double[3, Side, Side];
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                var (h, s, v) = RefRgbToHsv(img[0, y, x], img[1, y, x], img[2, y, x]);
                h = ((h + shift) % 1.0 + 1.0) % 1.0;
                var (r, g, b) = RefHsvToRgb(h, s, v);
                result[0, y, x] = r; result[1, y, x] = g; result[2, y, x] = b;
            }
        return result;
    }

    // --- batched against references ---

    [Fact]
    public void Brightness_contrast_and_saturation_match_torchvision_per_image()
    {
        using var x = Rgb(4, 1);
        float[] f = [0.2f, 0.9f, 1.3f, 1.8f];
        using var factors = Factors(f);
        using var brightness = ViewTransform.AdjustBrightness(x, factors);
        using var contrast = ViewTransform.AdjustContrast(x, factors);
        using var saturation = ViewTransform.AdjustSaturation(x, factors);
        for (int i = 0; i < f.Length; i++)
        {
            var image = Image(x, i);
            AssertClose(RefBrightness(image, f[i]), brightness, i, "brightness");
            AssertClose(RefContrast(image, f[i]), contrast, i, "contrast");
            AssertClose(RefSaturation(image, f[i]), saturation, i, "saturation");
        }
    }

    [Fact]
    public void Hue_matches_torchvision_per_image_and_a_zero_shift_round_trips()
    {
        using var x = Rgb(5, 2);
        float[] shifts = [-0.5f, -0.1f, 0f, 0.05f, 0.2f];
        using var factors = Factors(shifts);
        using var shifted = ViewTransform.AdjustHue(x, factors);
        for (int i = 0; i < shifts.Length; i++)
        {
            var image = Image(x, i);
            AssertClose(RefHue(image, shifts[i]), shifted, i, $"hue {shifts[i]}");
        }
        // HSV round trip: shift 0 gives the image back.
        AssertClose(Image(x, 2), shifted, 2, "hue round trip");
        // Grey pixels (max == min) have no hue and stay as they are.
        using var grey = full([1, 3, Side, Side], 0.4f);
        using var oneShift = Factors(0.3f);
        using var greyShifted = ViewTransform.AdjustHue(grey, oneShift);
        Assert.True((greyShifted - grey).abs().max().item<float>() < 1e-6f);
    }

    [Fact]
    public void Grey_is_luma_and_grayscale_views_have_three_equal_channels()
    {
        using var x = Rgb(3, 3);
        using var grey = ViewTransform.Grey(x);
        Assert.Equal(new long[] { 3, 1, Side, Side }, grey.shape);
        for (int i = 0; i < 3; i++)
        {
            var image = Image(x, i);
            var expected = new double[3, Side, Side];
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < Side; y++)
                    for (int xx = 0; xx < Side; xx++)
                        expected[c, y, xx] = RefGrey(image, y, xx);
            using var repeated = grey.expand(3, 3, Side, Side);
            AssertClose(expected, repeated, i, "grey");
        }
        var alwaysGrey = ViewRecipe.CropFlip with { GrayscaleProbability = 1.0 };
        using var v = ViewTransform.Apply(x, alwaysGrey, 4, [0f], [1f]);
        Assert.True(Same(v[.., 0], v[.., 1]) && Same(v[.., 1], v[.., 2]));
        // Probability 0 leaves colour: the channels differ.
        using var colour = ViewTransform.Apply(x, ViewRecipe.CropFlip, 4, [0f], [1f]);
        Assert.False(Same(colour[.., 0], colour[.., 1]));
    }

    // --- the whole transform on RGB ---

    public static TheoryData<string, int> ColourRecipes()
    {
        var data = new TheoryData<string, int>();
        foreach (var method in new[] { "byol", "simclr", "rotnet", "beit" })
            foreach (var size in new[] { 32, 96 })
                data.Add(method, size);
        return data;
    }

    [Theory]
    [MemberData(nameof(ColourRecipes))]
    public void Rgb_views_keep_the_shape_and_stay_in_the_unit_range_before_normalisation(string method, int size)
    {
        using var x = rand([6, 3, size, size], generator: new Generator(5));
        foreach (var recipe in ViewRecipes.For(method, 3, size))
            foreach (ulong seed in new ulong[] { 1, 2, 3 })
            {
                using var v = ViewTransform.Apply(x, recipe, seed, [0f], [1f]);
                Assert.Equal(x.shape, v.shape);
                Assert.True(v.min().item<float>() >= -1e-5f, $"{method} {size}: below 0");
                Assert.True(v.max().item<float>() <= 1 + 1e-5f, $"{method} {size}: above 1");
                Assert.False(v.isnan().any().item<bool>());
            }
    }

    [Fact]
    public void Rgb_views_are_the_same_for_the_same_seed_and_differ_across_samples_and_seeds()
    {
        using var one = Rgb(1, 6);
        using var x = one.expand(4, 3, Side, Side).contiguous();
        var recipe = ViewRecipes.For("simclr", 3, Side)[0];
        using var a = ViewTransform.Apply(x, recipe, 9, [0f], [1f]);
        using var b = ViewTransform.Apply(x, recipe, 9, [0f], [1f]);
        using var c = ViewTransform.Apply(x, recipe, 10, [0f], [1f]);
        Assert.True(Same(a, b));
        Assert.False(a.allclose(c));
        Assert.False(a[0].allclose(a[1]));
    }

    [Fact]
    public void Colour_parameters_stay_in_their_ranges_over_many_seeds()
    {
        var recipe = new ViewRecipe(JitterProbability: 0.8, Brightness: 0.8, Contrast: 0.4, Saturation: 0.8, Hue: 0.2,
            GrayscaleProbability: 0.2, BlurProbability: 0.5, SolarizeProbability: 0.2);
        int jittered = 0, grey = 0, total = 0;
        var orders = new HashSet<string>();
        for (ulong seed = 0; seed < 200; seed++)
        {
            var d = ViewTransform.Draw(16, colour: true, recipe, seed);
            for (int i = 0; i < 16; i++, total++)
            {
                var order = d.Order.AsSpan(i * 4, 4).ToArray();
                Assert.Equal(new[] { 0, 1, 2, 3 }, order.Order());
                if (d.Jittered[i])
                {
                    jittered++;
                    orders.Add(string.Join(",", order));
                    Assert.InRange(d.Brightness[i], 0.2f, 1.8f);
                    Assert.InRange(d.Contrast[i], 0.6f, 1.4f);
                    Assert.InRange(d.Saturation[i], 0.2f, 1.8f);
                    Assert.InRange(d.Hue[i], -0.2f, 0.2f);
                }
                else
                {
                    Assert.Equal((1f, 1f, 1f, 0f), (d.Brightness[i], d.Contrast[i], d.Saturation[i], d.Hue[i]));
                    Assert.Equal(new[] { 0, 1, 2, 3 }, order);
                }
                if (d.Grey[i]) grey++;
                Assert.True(d.Sigma[i] == 0 || d.Sigma[i] is >= 0.1f and <= 2f);
            }
        }
        // 3200 samples: p 0.8 and 0.2 are far from the edges of these bounds (about ±6 standard deviations).
        Assert.InRange(jittered / (double)total, 0.76, 0.84);
        Assert.InRange(grey / (double)total, 0.16, 0.24);
        // Every one of the 4! orders is used.
        Assert.Equal(24, orders.Count);
    }

    [Fact]
    public void Per_sample_colour_parameters_differ_across_samples_and_repeat_for_the_same_seed()
    {
        var recipe = ViewRecipes.For("byol", 3, 224)[0];
        var a = ViewTransform.Draw(32, colour: true, recipe, 77);
        var b = ViewTransform.Draw(32, colour: true, recipe, 77);
        Assert.Equal(a.Saturation, b.Saturation);
        Assert.Equal(a.Hue, b.Hue);
        Assert.Equal(a.Order, b.Order);
        Assert.Equal(a.Grey, b.Grey);
        Assert.True(a.Saturation.Distinct().Count() > 16);
        Assert.True(a.Hue.Distinct().Count() > 16);
        // Nothing colour is drawn for one channel, and what is drawn first agrees.
        var grey = ViewTransform.Draw(32, colour: false, recipe, 77);
        Assert.Empty(grey.Saturation);
        Assert.Equal(a.Theta.AsSpan(0, 6).ToArray(), grey.Theta.AsSpan(0, 6).ToArray());
        Assert.Equal(a.Brightness[0], grey.Brightness[0]);
    }

    [Fact]
    public void Normalisation_is_per_channel()
    {
        using var x = Rgb(2, 8);
        float[] mean = [0.1f, 0.5f, 0.9f], std = [0.2f, 0.25f, 0.5f];
        using var v = ViewTransform.Normalize(x, mean, std);
        for (int c = 0; c < 3; c++)
        {
            using var expected = x[.., c].Minus(mean[c]).Over(std[c]);
            Assert.True(expected.allclose(v[.., c], rtol: 1e-6, atol: 1e-6), $"channel {c}");
        }
        // One value applies to every channel; another length is refused.
        using var same = ViewTransform.Normalize(x, [0.5f], [0.25f]);
        using var repeated = ViewTransform.Normalize(x, [0.5f, 0.5f, 0.5f], [0.25f, 0.25f, 0.25f]);
        Assert.True(same.allclose(repeated, rtol: 1e-6, atol: 1e-6));
        Assert.Throws<ArgumentException>(() => ViewTransform.Normalize(x, [0.1f, 0.2f], [1f, 1f]));
        Assert.Throws<ArgumentException>(() => ViewTransform.Apply(x, ViewRecipe.CropFlip, 1, [0.1f, 0.2f, 0.3f], [1f]));
        var stats = Core.Methods.ImageStats.Repeated(0.3f, 0.2f, 3);
        Assert.Equal(new[] { 0.3f, 0.3f, 0.3f }, stats.Mean);
        Assert.Equal(new[] { 0.2f, 0.2f, 0.2f }, stats.Std);
    }
}
