namespace SslOrleans.Core.Transforms;

/// <summary>
/// One view's augmentation probabilities and ranges (solo-learn / lightly values). The colour jitter, applied with
/// <see cref="JitterProbability"/>, draws brightness, contrast and saturation factors in [max(0, 1 − v), 1 + v] and a
/// hue shift in [−<see cref="Hue"/>, <see cref="Hue"/>] turns. For one-channel images jitter reduces to brightness and
/// contrast, and saturation, hue and grayscale are no-ops (nothing is drawn for them). The colour fields default to
/// none, so a recipe has colour only when it asks for it; <see cref="ViewRecipes.For"/> gives each method's recipes.
/// </summary>
public sealed record ViewRecipe(
    double CropScaleMin = 0.08,
    double CropScaleMax = 1.0,
    double FlipProbability = 0.5,
    double JitterProbability = 0.8,
    double Brightness = 0.4,
    double Contrast = 0.4,
    double BlurProbability = 0.0,
    double BlurSigmaMin = 0.1,
    double BlurSigmaMax = 2.0,
    double SolarizeProbability = 0.0,
    double Saturation = 0.0,
    double Hue = 0.0,
    double GrayscaleProbability = 0.0)
{
    /// <summary>BYOL / Barlow Twins "asymmetric" recipe for one-channel images: view 1 always blurred, view 2 sometimes solarized.</summary>
    public static IReadOnlyList<ViewRecipe> Asymmetric { get; } =
    [
        new ViewRecipe(BlurProbability: 1.0, SolarizeProbability: 0.0),
        new ViewRecipe(BlurProbability: 0.1, SolarizeProbability: 0.2),
    ];

    /// <summary>SimCLR "symmetric" recipe for one-channel images: strong jitter, no blur, the same for both views.</summary>
    public static IReadOnlyList<ViewRecipe> Symmetric { get; } =
    [
        new ViewRecipe(Brightness: 0.8, Contrast: 0.8),
        new ViewRecipe(Brightness: 0.8, Contrast: 0.8),
    ];

    /// <summary>Random resized crop and flip only (RotNet, before rotating; MAE), at any channel count.</summary>
    public static ViewRecipe CropFlip { get; } = new(JitterProbability: 0.0);

    /// <summary>The seed of view <paramref name="index"/> of a micro-batch whose views are seeded by <paramref name="seed"/>.</summary>
    public static ulong ViewSeed(ulong seed, int index) => index == 0 ? seed : seed ^ (0x5DEECE66DUL * (ulong)index);
}
