using SslOrleans.Core.Losses;
using SslOrleans.Core.Models;
using SslOrleans.Core.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.Byol;

/// <summary>
/// BYOL (Grill et al. 2020): online = backbone + projector + predictor, target = EMA of backbone + projector,
/// symmetric 2 − 2·cos loss, asymmetric views. The EMA itself is applied by the optimizer that owns the
/// parameters (a parameter shard), not here.
/// </summary>
public sealed class ByolMethod : ISampleLossMethod
{
    private readonly SiameseBranch online;
    private readonly SiameseBranch target;

    public ByolMethod(ByolOptions options)
    {
        options.Validate();
        long hidden = options.EffectiveHiddenDim;
        var backbone = options.Backbone.Create();
        FeatureDim = backbone.FeatureDim;
        online = new SiameseBranch(backbone,
            new MlpHead(backbone.FeatureDim, hidden, options.ProjectionDim),
            new MlpHead(options.ProjectionDim, hidden, options.ProjectionDim));
        var targetBackbone = options.Backbone.Create();
        target = new SiameseBranch(targetBackbone, new MlpHead(targetBackbone.FeatureDim, hidden, options.ProjectionDim));
        CopyPrefix(online, target);
        foreach (var p in target.parameters()) p.requires_grad = false;
    }

    public string Name => "byol";
    public nn.Module Online => online;
    public nn.Module? Target => target;
    public nn.Module<Tensor, Tensor> Backbone => online.Backbone;
    public long FeatureDim { get; }

    public MethodOutput Loss(Tensor images, ulong seed, ImageStats stats)
    {
        var views = ViewRecipes.For(Name, images);
        var v1 = ViewTransform.Apply(images, views[0], ViewRecipe.ViewSeed(seed, 0), stats.Mean, stats.Std);
        var v2 = ViewTransform.Apply(images, views[1], ViewRecipe.ViewSeed(seed, 1), stats.Mean, stats.Std);
        var (p1, features) = online.ForwardWithFeatures(v1);
        var p2 = online.forward(v2);
        Tensor z1, z2;
        using (no_grad())
        {
            z1 = target.forward(v1);
            z2 = target.forward(v2);
        }
        return new MethodOutput(ByolLoss.Symmetric(p1, p2, z1, z2), features.detach());
    }

    // The target starts as a copy of the online backbone + projector.
    private static void CopyPrefix(nn.Module from, nn.Module to)
    {
        using var _ = no_grad();
        var source = from.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in to.named_parameters()) p.copy_(source[name]);
    }

    public void Dispose()
    {
        online.Dispose();
        target.Dispose();
    }
}
