using SslOrleans.Core.Losses;
using SslOrleans.Core.Models;
using SslOrleans.Core.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.Barlow;

/// <summary>
/// Barlow Twins (Zbontar et al. 2021): backbone + 3-layer projector; the embeddings of each view are
/// normalised over the whole global batch and their cross-correlation is pushed to the identity; asymmetric views.
/// </summary>
public sealed class BarlowTwinsMethod : IBatchLossMethod
{
    private readonly SiameseBranch online;
    private readonly BarlowTwinsLoss loss;

    public BarlowTwinsMethod(BarlowTwinsOptions options)
    {
        options.Validate();
        var backbone = options.Backbone.Create();
        FeatureDim = backbone.FeatureDim;
        EmbeddingDim = options.EffectiveProjectionDim;
        online = new SiameseBranch(backbone, new MlpHead(backbone.FeatureDim, options.EffectiveHiddenDim, EmbeddingDim, layerCount: 3));
        loss = new BarlowTwinsLoss(options.Lambda, options.LossScale);
    }

    public string Name => "barlow";
    public nn.Module Online => online;
    public nn.Module? Target => null;
    public nn.Module<Tensor, Tensor> Backbone => online.Backbone;
    public long FeatureDim { get; }
    public int Views => 2;
    public long EmbeddingDim { get; }

    public MethodOutput Embed(Tensor images, ulong seed, ImageStats stats) => online.EmbedViews(images, ViewRecipes.For(Name, images), seed, stats);

    public Tensor BatchLoss(Tensor embeddings) => loss.Forward(embeddings[0], embeddings[1]);

    public void Dispose() => online.Dispose();
}
