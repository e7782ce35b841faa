using SslOrleans.Core.Losses;
using SslOrleans.Core.Masking;
using SslOrleans.Core.Models;
using SslOrleans.Core.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.Beit;

/// <summary>
/// BEiT (Bao et al. 2022), masked image modelling on visual tokens: a frozen image tokenizer turns each patch of
/// the view into a code; about 40 % of the patches are masked blockwise; the ViT, seeing mask embeddings there,
/// predicts the masked patches' codes (cross-entropy on masked positions only). The tokenizer is not part of the
/// trained model: every replica loads the same frozen one. The online probe reads the pooled features of the
/// whole unmasked view.
/// </summary>
public sealed class BeitMethod : ISampleLossMethod
{
    private readonly BeitModel online;
    private readonly IPatchTokenizer tokenizer;
    private readonly MaskedTokenLoss loss = new();
    private readonly BeitOptions options;

    public BeitMethod(BeitOptions options)
    {
        options.Validate();
        this.options = options;
        var backbone = (VisionTransformer)options.Backbone.Create();
        tokenizer = options.Tokenizer!();
        try
        {
            options.CheckFits(tokenizer);
        }
        catch
        {
            tokenizer.Dispose();
            backbone.Dispose();
            throw;
        }
        FeatureDim = backbone.FeatureDim;
        online = new BeitModel(backbone, tokenizer.CodebookSize);
    }

    public string Name => "beit";
    public nn.Module Online => online;
    public nn.Module? Target => null;
    public nn.Module<Tensor, Tensor> Backbone => online.Backbone;
    public long FeatureDim { get; }
    public int CodebookSize => tokenizer.CodebookSize;

    public MethodOutput Loss(Tensor images, ulong seed, ImageStats stats)
    {
        // BEiT's augmentation: random resized crop, flip and colour jitter (0.4); the tokenizer codes the same view.
        var x = ViewTransform.Apply(images, ViewRecipes.For(Name, images)[0], ViewRecipe.ViewSeed(seed, 0), stats.Mean, stats.Std);
        var codes = tokenizer.Codes(x);
        var mask = BlockMasking.Sample((int)x.shape[0], online.Backbone.PatchGridSide, options.MaskRatio, ViewRecipe.ViewSeed(seed, 1));
        var logits = online.MaskedLogits(x, mask);
        var targets = codes.gather(1, mask.MaskedIndices(x.device));
        var value = loss.MaskedOnly(logits.reshape(-1, logits.shape[2]), targets.reshape(-1));
        Tensor features;
        using (no_grad()) features = online.Backbone.forward(x);
        return new MethodOutput(value, features);
    }

    public void Dispose()
    {
        online.Dispose();
        tokenizer.Dispose();
    }
}
