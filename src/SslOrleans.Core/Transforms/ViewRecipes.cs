namespace SslOrleans.Core.Transforms;

/// <summary>
/// Each method's view recipes, chosen by the images' channel count and size.
/// </summary>
/// <remarks>
/// <para>One-channel images keep the recipes the methods always had (<see cref="ViewRecipe.Asymmetric"/>,
/// <see cref="ViewRecipe.Symmetric"/>, <see cref="ViewRecipe.CropFlip"/>, BEiT's default jitter), so Fashion-MNIST
/// runs are unchanged.</para>
/// <para>RGB images (sources: solo-learn <c>scripts/pretrain/{cifar,imagenet-100}/augmentations/*.yaml</c>, the papers):</para>
/// <list type="bullet">
/// <item>BYOL, Barlow Twins ("asymmetric"): crop 0.08–1, flip 0.5, jitter p 0.8 (0.4, 0.4, 0.2, 0.1), grayscale 0.2;
/// view 1 blur 1.0, solarize 0; view 2 blur 0.1, solarize 0.2. At ≤ <see cref="SmallImageSide"/> px blur is off
/// (solo-learn's CIFAR asymmetric.yaml: gaussian prob 0.0) and solarize stays 0 / 0.2.</item>
/// <item>SimCLR ("symmetric"): crop 0.08–1, flip 0.5, jitter p 0.8 (0.8, 0.8, 0.8, 0.2) — colour strength 1 of the
/// paper, which is also solo-learn's symmetric.yaml for CIFAR and ImageNet and what the one-channel recipe already
/// uses (brightness/contrast 0.8) — grayscale 0.2; blur 0.5 above <see cref="SmallImageSide"/> px, none at or below
/// (the SimCLR paper's CIFAR-10 setting; solo-learn's CIFAR symmetric.yaml keeps 0.5).</item>
/// <item>RotNet, MAE: crop + flip only.</item>
/// <item>BEiT: crop + flip + ColorJitter(0.4, 0.4, 0.4, hue 0) always applied, no grayscale (BEiT's
/// DataAugmentationForBEiT / mmselfsup's beit config).</item>
/// </list>
/// <para>Blur σ is 0.1–2.0; its kernel is about 10 % of the image side, odd (<see cref="ViewTransform"/>).</para>
/// </remarks>
public static class ViewRecipes
{
    /// <summary>Images whose larger side is at most this are "CIFAR-sized": blur is off for RGB recipes.</summary>
    public const int SmallImageSide = 64;

    private static readonly ViewRecipe AsymmetricColour = new(
        CropScaleMin: 0.08, CropScaleMax: 1.0, FlipProbability: 0.5,
        JitterProbability: 0.8, Brightness: 0.4, Contrast: 0.4, Saturation: 0.2, Hue: 0.1, GrayscaleProbability: 0.2,
        BlurSigmaMin: 0.1, BlurSigmaMax: 2.0);

    private static readonly IReadOnlyList<ViewRecipe> AsymmetricLarge =
        [AsymmetricColour with { BlurProbability = 1.0, SolarizeProbability = 0.0 }, AsymmetricColour with { BlurProbability = 0.1, SolarizeProbability = 0.2 }];

    private static readonly IReadOnlyList<ViewRecipe> AsymmetricSmall =
        [AsymmetricColour with { BlurProbability = 0.0, SolarizeProbability = 0.0 }, AsymmetricColour with { BlurProbability = 0.0, SolarizeProbability = 0.2 }];

    private static readonly ViewRecipe SymmetricColour = new(
        CropScaleMin: 0.08, CropScaleMax: 1.0, FlipProbability: 0.5,
        JitterProbability: 0.8, Brightness: 0.8, Contrast: 0.8, Saturation: 0.8, Hue: 0.2, GrayscaleProbability: 0.2,
        BlurSigmaMin: 0.1, BlurSigmaMax: 2.0, SolarizeProbability: 0.0);

    private static readonly IReadOnlyList<ViewRecipe> SymmetricLarge =
        [SymmetricColour with { BlurProbability = 0.5 }, SymmetricColour with { BlurProbability = 0.5 }];

    private static readonly IReadOnlyList<ViewRecipe> SymmetricSmall =
        [SymmetricColour with { BlurProbability = 0.0 }, SymmetricColour with { BlurProbability = 0.0 }];

    private static readonly IReadOnlyList<ViewRecipe> CropFlipOnly = [ViewRecipe.CropFlip];

    // BEiT's one-channel recipe as it always was: the default jitter (p 0.8, brightness/contrast 0.4).
    private static readonly IReadOnlyList<ViewRecipe> BeitGrey = [new ViewRecipe()];

    private static readonly IReadOnlyList<ViewRecipe> BeitColour =
        [new ViewRecipe(JitterProbability: 1.0, Brightness: 0.4, Contrast: 0.4, Saturation: 0.4, Hue: 0.0)];

    /// <summary>
    /// The recipes of <paramref name="method"/> ("byol", "barlow", "simclr", "rotnet", "mae", "beit"), one per view
    /// the method draws, for images with <paramref name="channels"/> channels and larger side <paramref name="imageSize"/>.
    /// </summary>
    public static IReadOnlyList<ViewRecipe> For(string method, int channels, int imageSize)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageSize, 1);
        bool colour = channels == 3, small = imageSize <= SmallImageSide;
        return method switch
        {
            "byol" or "barlow" => !colour ? ViewRecipe.Asymmetric : small ? AsymmetricSmall : AsymmetricLarge,
            "simclr" => !colour ? ViewRecipe.Symmetric : small ? SymmetricSmall : SymmetricLarge,
            "rotnet" or "mae" => CropFlipOnly,
            "beit" => colour ? BeitColour : BeitGrey,
            _ => throw new ArgumentException($"no view recipes for method '{method}'", nameof(method)),
        };
    }

    /// <summary>The recipes for a batch of images [n, C, H, W]: <see cref="For(string, int, int)"/> with C and max(H, W).</summary>
    public static IReadOnlyList<ViewRecipe> For(string method, TorchSharp.torch.Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.ndim != 4) throw new ArgumentException("images must be [n, C, H, W]", nameof(images));
        return For(method, (int)images.shape[1], (int)Math.Max(images.shape[2], images.shape[3]));
    }
}
