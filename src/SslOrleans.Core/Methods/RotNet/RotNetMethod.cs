using SslOrleans.Core.Models;
using SslOrleans.Core.Transforms;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.RotNet;

/// <summary>
/// RotNet (Gidaris et al. 2018): a crop + flip view of each image, fed in all four rotations in one batch;
/// a linear classifier on the backbone features predicts the rotation (4-way cross-entropy).
/// </summary>
public sealed class RotNetMethod : ISampleLossMethod
{
    private readonly RotationClassifier online;

    public RotNetMethod(RotNetOptions options)
    {
        options.Validate();
        var backbone = options.Backbone.Create();
        FeatureDim = backbone.FeatureDim;
        online = new RotationClassifier(backbone, nn.Linear(backbone.FeatureDim, Rotations.Count));
    }

    public string Name => "rotnet";
    public nn.Module Online => online;
    public nn.Module? Target => null;
    public nn.Module<Tensor, Tensor> Backbone => online.Backbone;
    public long FeatureDim { get; }

    public MethodOutput Loss(Tensor images, ulong seed, ImageStats stats)
    {
        var (rotated, labels) = Rotations.All(ViewTransform.Apply(images, ViewRecipes.For(Name, images)[0], ViewRecipe.ViewSeed(seed, 0), stats.Mean, stats.Std));
        var (logits, features) = online.ForwardWithFeatures(rotated);
        // The unrotated copies come first: their features feed the online probe.
        return new MethodOutput(nn.functional.cross_entropy(logits, labels), features.narrow(0, 0, images.shape[0]).detach());
    }

    public void Dispose() => online.Dispose();

    /// <summary>Keys "backbone.*", "classifier.weight", "classifier.bias".</summary>
    private sealed class RotationClassifier : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> backbone;
        private readonly Linear classifier;

        public RotationClassifier(nn.Module<Tensor, Tensor> backbone, Linear classifier) : base("rotnet")
        {
            this.backbone = backbone;
            this.classifier = classifier;
            RegisterComponents();
        }

        public nn.Module<Tensor, Tensor> Backbone => backbone;

        public override Tensor forward(Tensor x) => classifier.forward(backbone.forward(x));

        public (Tensor Logits, Tensor Features) ForwardWithFeatures(Tensor x)
        {
            var features = backbone.forward(x);
            return (classifier.forward(features), features);
        }
    }
}
