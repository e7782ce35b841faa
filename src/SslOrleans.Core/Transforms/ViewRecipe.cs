namespace SslOrleans.Core.Transforms;

/// <summary>
/// One view's augmentation probabilities and ranges (solo-learn / lightly values). For one-channel images
/// colour jitter reduces to brightness and contrast and grayscale is a no-op.
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
    double SolarizeProbability = 0.0)
{
    /// <summary>BYOL / Barlow Twins "asymmetric" recipe: view 1 always blurred, view 2 sometimes solarized.</summary>
    public static IReadOnlyList<ViewRecipe> Asymmetric { get; } =
    [
        new ViewRecipe(BlurProbability: 1.0, SolarizeProbability: 0.0),
        new ViewRecipe(BlurProbability: 0.1, SolarizeProbability: 0.2),
    ];

    /// <summary>SimCLR "symmetric" recipe (CIFAR values): strong jitter, no blur, the same for both views.</summary>
    public static IReadOnlyList<ViewRecipe> Symmetric { get; } =
    [
        new ViewRecipe(Brightness: 0.8, Contrast: 0.8),
        new ViewRecipe(Brightness: 0.8, Contrast: 0.8),
    ];

    /// <summary>Random resized crop and flip only (RotNet, before rotating; MAE).</summary>
    public static ViewRecipe CropFlip { get; } = new(JitterProbability: 0.0);

    /// <summary>The seed of view <paramref name="index"/> of a micro-batch whose views are seeded by <paramref name="seed"/>.</summary>
    public static ulong ViewSeed(ulong seed, int index) => index == 0 ? seed : seed ^ (0x5DEECE66DUL * (ulong)index);
}
