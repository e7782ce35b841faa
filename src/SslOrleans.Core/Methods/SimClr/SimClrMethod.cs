using SslOrleans.Core.Losses;
using SslOrleans.Core.Models;
using SslOrleans.Core.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.SimClr;

/// <summary>
/// SimCLR (Chen et al. 2020): backbone + projector, NT-Xent over the embeddings of both views of the whole
/// global batch, the symmetric view recipe.
/// </summary>
public sealed class SimClrMethod : IBatchLossMethod
{
    private readonly SiameseBranch online;
    private readonly NtXentLoss loss;

    public SimClrMethod(SimClrOptions options)
    {
        options.Validate();
        var backbone = options.Backbone.Create();
        FeatureDim = backbone.FeatureDim;
        EmbeddingDim = options.EffectiveProjectionDim;
        online = new SiameseBranch(backbone, new MlpHead(backbone.FeatureDim, options.EffectiveHiddenDim, EmbeddingDim));
        loss = new NtXentLoss(options.Temperature);
    }

    public string Name => "simclr";
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
