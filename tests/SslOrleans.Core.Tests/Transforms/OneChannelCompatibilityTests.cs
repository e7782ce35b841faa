using SslOrleans.Core.Transforms;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Transforms;

/// <summary>
/// Colour recipes must not change one-channel views: Fashion-MNIST runs, kNN thresholds and "same model"
/// comparisons rely on today's draws. <see cref="LegacyViewTransform"/> is the transform as it was.
/// </summary>
public sealed class OneChannelCompatibilityTests
{
    private const float M = 0.286f, S = 0.353f;

    // Bit-for-bit equality: same shape, every element equal.
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    // The recipes the methods used before colour recipes, pinned as literals (not read from ViewRecipe's statics).
    private static readonly (string Name, ViewRecipe Recipe)[] LegacyRecipes =
    [
        ("byol/barlow view 1", new ViewRecipe(BlurProbability: 1.0, SolarizeProbability: 0.0)),
        ("byol/barlow view 2", new ViewRecipe(BlurProbability: 0.1, SolarizeProbability: 0.2)),
        ("simclr", new ViewRecipe(Brightness: 0.8, Contrast: 0.8)),
        ("rotnet/mae crop+flip", new ViewRecipe(JitterProbability: 0.0)),
        ("beit", new ViewRecipe()),
    ];

    public static TheoryData<string, int> Methods()
    {
        var data = new TheoryData<string, int>();
        foreach (var method in new[] { "byol", "barlow", "simclr", "rotnet", "mae", "beit" })
            foreach (var size in new[] { 28, 32, 96, 224 })
                data.Add(method, size);
        return data;
    }

    [Fact]
    public void One_channel_views_are_bit_identical_to_the_legacy_transform_for_every_recipe()
    {
        using var x28 = rand([8, 1, 28, 28], generator: new Generator(7));
        using var x64 = rand([3, 1, 64, 64], generator: new Generator(8));
        // Colour fields must be ignored for one channel: neither drawn nor applied.
        var colourful = new ViewRecipe(BlurProbability: 0.5, SolarizeProbability: 0.3, Saturation: 0.8, Hue: 0.2, GrayscaleProbability: 1.0);
        var recipes = LegacyRecipes.Select(r => r.Recipe)
            .Concat(ViewRecipe.Asymmetric).Concat(ViewRecipe.Symmetric).Append(ViewRecipe.CropFlip).Append(colourful);
        foreach (var recipe in recipes)
            foreach (var x in new[] { x28, x64 })
                foreach (ulong seed in new ulong[] { 0, 1, 5, 11, 0xDEADBEEFUL, ViewRecipe.ViewSeed(42, 1) })
                {
                    using var expected = LegacyViewTransform.Apply(x, recipe, seed, M, S);
                    using var actual = ViewTransform.Apply(x, recipe, seed, [M], [S]);
                    Assert.True(Same(expected, actual), $"recipe {recipe}, seed {seed}, size {x.shape[2]}: the view changed");
                }
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void One_channel_recipes_are_the_legacy_recipes_at_every_size(string method, int size)
    {
        var expected = method switch
        {
            "byol" or "barlow" => new[] { LegacyRecipes[0].Recipe, LegacyRecipes[1].Recipe },
            "simclr" => [LegacyRecipes[2].Recipe, LegacyRecipes[2].Recipe],
            "rotnet" or "mae" => [LegacyRecipes[3].Recipe],
            _ => [LegacyRecipes[4].Recipe],
        };
        Assert.Equal(expected, ViewRecipes.For(method, 1, size));
    }

    [Fact]
    public void One_statistic_normalises_with_the_legacy_scalar_operations()
    {
        using var x = rand([2, 1, 28, 28], generator: new Generator(9));
        using var legacy = LegacyViewTransform.Normalize(x, M, S);
        using var actual = ViewTransform.Normalize(x, [M], [S]);
        Assert.True(Same(legacy, actual));
    }
}
