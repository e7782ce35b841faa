using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods.Beit;

/// <param name="Backbone">Must be a vision transformer whose patches are the tokenizer's.</param>
/// <param name="Tokenizer">Loads the frozen image tokenizer (one per replica); null when none was given.</param>
/// <param name="MaskRatio">Share of patches masked blockwise per image (BEiT: 75 of 196, about 0.4).</param>
public sealed record BeitOptions(BackboneOptions Backbone, Func<IPatchTokenizer>? Tokenizer, double MaskRatio = 0.4)
{
    public const string HowToMakeATokenizer =
        "train one with `sslo tokenizer train --dataset fashion-mnist --out runs/tokenizer-fashion-mnist` and pass `--tokenizer runs/tokenizer-fashion-mnist`";

    public void Validate()
    {
        Backbone.Validate();
        if (!Backbone.IsVisionTransformer)
            throw new ArgumentException($"beit needs a vision transformer backbone (vit-tiny), got '{Backbone.Name}'", nameof(Backbone));
        if (!(MaskRatio > 0 && MaskRatio < 1)) throw new ArgumentOutOfRangeException(nameof(MaskRatio), MaskRatio, "mask ratio must lie in (0, 1)");
        if (Tokenizer is null) throw new ArgumentException($"beit predicts the codes of an image tokenizer, and none was given: {HowToMakeATokenizer}", nameof(Tokenizer));
    }

    /// <summary>The tokenizer must cut the images into the backbone's patches.</summary>
    public void CheckFits(IPatchTokenizer tokenizer)
    {
        if (tokenizer.PatchSize != Backbone.PatchSize || tokenizer.ImageSize != Backbone.ImageSize || tokenizer.Channels != Backbone.InputChannels)
            throw new ArgumentException(
                $"tokenizer: it codes {tokenizer.Channels}-channel {tokenizer.ImageSize}×{tokenizer.ImageSize} images in {tokenizer.PatchSize}×{tokenizer.PatchSize} patches, " +
                $"but the backbone takes {Backbone.InputChannels}-channel {Backbone.ImageSize}×{Backbone.ImageSize} images in {Backbone.PatchSize}×{Backbone.PatchSize} patches " +
                "(set patch_size to the tokenizer's, or train a tokenizer with --patch-size)", nameof(tokenizer));
    }
}
