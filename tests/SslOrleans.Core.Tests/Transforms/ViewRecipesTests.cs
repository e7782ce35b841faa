using SslOrleans.Core.Transforms;

namespace SslOrleans.Core.Tests.Transforms;

/// <summary>Each method's RGB recipes, value by value (solo-learn's augmentation yamls and the papers).</summary>
public sealed class ViewRecipesTests
{
    private static void AssertCommon(ViewRecipe r)
    {
        Assert.Equal((0.08, 1.0, 0.5), (r.CropScaleMin, r.CropScaleMax, r.FlipProbability));
        Assert.Equal((0.1, 2.0), (r.BlurSigmaMin, r.BlurSigmaMax));
    }

    [Theory]
    [InlineData("byol", 96, 1.0, 0.1)]
    [InlineData("byol", 224, 1.0, 0.1)]
    [InlineData("barlow", 224, 1.0, 0.1)]
    [InlineData("byol", 32, 0.0, 0.0)]
    [InlineData("byol", 64, 0.0, 0.0)]
    [InlineData("barlow", 32, 0.0, 0.0)]
    public void Byol_and_barlow_are_asymmetric(string method, int size, double blur1, double blur2)
    {
        var views = ViewRecipes.For(method, 3, size);
        Assert.Equal(2, views.Count);
        foreach (var r in views)
        {
            AssertCommon(r);
            Assert.Equal((0.8, 0.4, 0.4, 0.2, 0.1), (r.JitterProbability, r.Brightness, r.Contrast, r.Saturation, r.Hue));
            Assert.Equal(0.2, r.GrayscaleProbability);
        }
        Assert.Equal((blur1, 0.0), (views[0].BlurProbability, views[0].SolarizeProbability));
        Assert.Equal((blur2, 0.2), (views[1].BlurProbability, views[1].SolarizeProbability));
    }

    [Theory]
    [InlineData(32, 0.0)]
    [InlineData(64, 0.0)]
    [InlineData(96, 0.5)]
    [InlineData(224, 0.5)]
    public void Simclr_is_symmetric_with_colour_strength_one(int size, double blur)
    {
        var views = ViewRecipes.For("simclr", 3, size);
        Assert.Equal(2, views.Count);
        Assert.Equal(views[0], views[1]);
        var r = views[0];
        AssertCommon(r);
        Assert.Equal((0.8, 0.8, 0.8, 0.8, 0.2), (r.JitterProbability, r.Brightness, r.Contrast, r.Saturation, r.Hue));
        Assert.Equal((0.2, blur, 0.0), (r.GrayscaleProbability, r.BlurProbability, r.SolarizeProbability));
    }

    [Theory]
    [InlineData("rotnet", 1)]
    [InlineData("rotnet", 3)]
    [InlineData("mae", 1)]
    [InlineData("mae", 3)]
    public void Rotnet_and_mae_crop_and_flip_only(string method, int channels)
    {
        foreach (var size in new[] { 28, 32, 224 })
        {
            var r = Assert.Single(ViewRecipes.For(method, channels, size));
            AssertCommon(r);
            Assert.Equal(0.0, r.JitterProbability);
            Assert.Equal((0.0, 0.0, 0.0), (r.GrayscaleProbability, r.BlurProbability, r.SolarizeProbability));
        }
    }

    [Fact]
    public void Beit_jitters_colour_always_without_grayscale()
    {
        var r = Assert.Single(ViewRecipes.For("beit", 3, 224));
        AssertCommon(r);
        Assert.Equal((1.0, 0.4, 0.4, 0.4, 0.0), (r.JitterProbability, r.Brightness, r.Contrast, r.Saturation, r.Hue));
        Assert.Equal((0.0, 0.0, 0.0), (r.GrayscaleProbability, r.BlurProbability, r.SolarizeProbability));
    }

    [Fact]
    public void Unknown_methods_are_refused()
    {
        Assert.Throws<ArgumentException>(() => ViewRecipes.For("moco", 3, 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => ViewRecipes.For("byol", 0, 32));
    }
}
