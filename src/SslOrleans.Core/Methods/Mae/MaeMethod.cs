using SslOrleans.Core.Losses;
using SslOrleans.Core.Masking;
using SslOrleans.Core.Models;
using SslOrleans.Core.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.Mae;

/// <summary>
/// MAE (He et al. 2022), the generative family: a crop + flip view, round(ratio · N) random patches of each image
/// masked, the encoder on the visible patches only, a light decoder predicting all pixels, and the squared error
/// on the masked patches only. The online probe reads the backbone's pooled features of the whole unmasked view.
/// </summary>
public sealed class MaeMethod : ISampleLossMethod
{
    private readonly MaskedAutoencoder online;
    private readonly MaskedPatchLoss loss;
    private readonly MaeOptions options;

    public MaeMethod(MaeOptions options)
    {
        options.Validate();
        this.options = options;
        var backbone = (VisionTransformer)options.Backbone.Create();
        FeatureDim = backbone.FeatureDim;
        online = new MaskedAutoencoder(backbone, options);
        loss = new MaskedPatchLoss(options.NormalizePixels);
    }

    public string Name => "mae";
    public nn.Module Online => online;
    public nn.Module? Target => null;
    public nn.Module<Tensor, Tensor> Backbone => online.Backbone;
    public long FeatureDim { get; }

    public MethodOutput Loss(Tensor images, ulong seed, ImageStats stats)
    {
        var x = ViewTransform.Apply(images, ViewRecipes.For(Name, images)[0], ViewRecipe.ViewSeed(seed, 0), stats.Mean, stats.Std);
        // The mask has its own stream: the view's parameters and the mask are independent draws.
        var mask = RandomMasking.Sample((int)x.shape[0], (int)online.Backbone.PatchCount, options.MaskRatio, ViewRecipe.ViewSeed(seed, 1));
        var predicted = online.Reconstruct(x, mask);
        var value = loss.Forward(predicted, Patches.Patchify(x, options.Backbone.PatchSize), mask.ToTensor(x.device));
        Tensor features;
        using (no_grad()) features = online.Backbone.forward(x);
        return new MethodOutput(value, features);
    }

    public void Dispose() => online.Dispose();
}
