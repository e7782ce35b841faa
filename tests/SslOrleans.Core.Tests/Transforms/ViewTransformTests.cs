using SslOrleans.Core.Transforms;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Transforms;

public sealed class ViewTransformTests
{
    private const float M = 0.286f, S = 0.353f;
    private static readonly float[] Mean = [M], Std = [S];

    private static Tensor Images()
    {
        var g = new TorchSharp.torch.Generator(3);
        return rand([6, 1, 28, 28], generator: g);
    }

    [Fact]
    public void Views_keep_the_shape_and_the_value_range()
    {
        using var x = Images();
        foreach (var recipe in ViewRecipe.Asymmetric)
        {
            using var v = ViewTransform.Apply(x, recipe, 11, Mean, Std);
            Assert.Equal(x.shape, v.shape);
            using var raw = v * S + M;
            Assert.True(raw.min().item<float>() >= -1e-5f);
            Assert.True(raw.max().item<float>() <= 1 + 1e-5f);
        }
    }

    [Fact]
    public void Same_seed_same_view_and_other_seeds_other_views()
    {
        using var x = Images();
        var r = ViewRecipe.Asymmetric[1];
        using var a = ViewTransform.Apply(x, r, 5, Mean, Std);
        using var b = ViewTransform.Apply(x, r, 5, Mean, Std);
        using var c = ViewTransform.Apply(x, r, 6, Mean, Std);
        Assert.Equal(0f, (a - b).abs().max().item<float>());
        Assert.False(a.allclose(c));
        // Each image in a batch gets its own parameters.
        using var same = x[0].unsqueeze(0).expand(4, 1, 28, 28).contiguous();
        using var v = ViewTransform.Apply(same, r, 5, Mean, Std);
        Assert.False(v[0].allclose(v[1]));
    }

    [Fact]
    public void A_recipe_without_randomness_is_the_identity_up_to_normalisation()
    {
        using var x = Images();
        var identity = new ViewRecipe(CropScaleMin: 1, CropScaleMax: 1, FlipProbability: 0, JitterProbability: 0, BlurProbability: 0, SolarizeProbability: 0);
        // A full-size crop with an aspect ratio other than 1 does not fit; keep only samples that drew the whole image.
        using var v = ViewTransform.Apply(x, identity with { }, 1, [0f], [1f]);
        using var diff = (v - x).abs().amax([1, 2, 3]);
        Assert.Contains(diff.data<float>().ToArray(), d => d < 1e-5);
    }

    [Fact]
    public void Solarize_inverts_bright_pixels()
    {
        using var x = full([1, 1, 28, 28], 0.8f);
        var r = new ViewRecipe(CropScaleMin: 1, CropScaleMax: 1, FlipProbability: 0, JitterProbability: 0, SolarizeProbability: 1);
        using var v = ViewTransform.Apply(x, r, 1, [0f], [1f]);
        Assert.Equal(0.2f, v.mean().item<float>(), 4);
    }
}
