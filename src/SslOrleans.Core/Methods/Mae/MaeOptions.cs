using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods.Mae;

/// <param name="Backbone">Must be a vision transformer; MAE pools its patch tokens (the cls output is not trained).</param>
/// <param name="MaskRatio">Share of patches masked per image (MAE: 0.75).</param>
/// <param name="NormalizePixels">Standardise each target patch (MAE's norm_pix_loss); off by default.</param>
/// <param name="DecoderDim">Decoder width; 0 = 4 × the backbone width (256 at width 64), rounded up to a multiple of 16: one head per 16 channels.</param>
/// <param name="DecoderDepth">Decoder blocks (MAE: 8 for ViT-L; a light 2 here, enough for the pixel task at this scale).</param>
public sealed record MaeOptions(BackboneOptions Backbone, double MaskRatio = 0.75, bool NormalizePixels = false, int DecoderDim = 0, int DecoderDepth = 2)
{
    public const int DecoderHeadDim = 16;

    // 4 × width rounded up to a whole number of heads.
    public int EffectiveDecoderDim => DecoderDim > 0 ? DecoderDim : DecoderHeadDim * ((Backbone.Width + 3) / 4);

    public void Validate()
    {
        Backbone.Validate();
        if (!Backbone.IsVisionTransformer)
            throw new ArgumentException($"mae needs a vision transformer backbone (vit-tiny), got '{Backbone.Name}'", nameof(Backbone));
        if (!(MaskRatio > 0 && MaskRatio < 1)) throw new ArgumentOutOfRangeException(nameof(MaskRatio), MaskRatio, "mask ratio must lie in (0, 1)");
        if (DecoderDim < 0 || EffectiveDecoderDim % DecoderHeadDim != 0)
            throw new ArgumentOutOfRangeException(nameof(DecoderDim), DecoderDim, $"decoder dim must be a positive multiple of {DecoderHeadDim} (0 = 4 × width)");
        if (DecoderDepth < 1) throw new ArgumentOutOfRangeException(nameof(DecoderDepth), DecoderDepth, "decoder depth must be at least 1");
    }
}
