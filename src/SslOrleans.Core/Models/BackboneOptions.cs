namespace SslOrleans.Core.Models;

/// <summary>
/// Which backbone to build. <paramref name="Stem"/> applies to the ResNets; <paramref name="PatchSize"/> and
/// <paramref name="ImageSize"/> to the ViT (its position embedding is sized for one image size), and so does
/// <paramref name="Pool"/>: its features are the cls token ("cls") or the mean of the patch tokens ("mean").
/// The method chooses the pooling: masked image modelling trains no cls output.
/// </summary>
public sealed record BackboneOptions(
    string Name = "resnet18",
    int Width = 64,
    int InputChannels = 3,
    string Stem = "cifar",
    int PatchSize = 4,
    int ImageSize = 28,
    string Pool = "cls")
{
    public static IReadOnlyList<string> Names { get; } = ["resnet18", "resnet50", "vit-tiny"];

    public static IReadOnlyList<string> Stems { get; } = ["cifar", "imagenet"];

    public static IReadOnlyList<string> Pools { get; } = ["cls", "mean"];

    public bool IsVisionTransformer => Name == "vit-tiny";

    /// <summary>One line for an export's metadata, e.g. "resnet18 cifar-stem width=16" or "vit-tiny width=16 patch=4 pool=mean".</summary>
    public string Architecture => IsVisionTransformer
        ? $"{Name} width={Width} patch={PatchSize} pool={Pool}"
        : $"{Name} {Stem}-stem width={Width}";

    /// <summary>
    /// Width of the feature vector the backbone returns (<see cref="Backbone.FeatureDim"/>), known without building it:
    /// a model card states it. ResNet-18 ends with 8·width channels, ResNet-50 with 4× as many (bottleneck
    /// expansion), the ViT's embedding is 3·width.
    /// </summary>
    public long FeatureDim => Name switch
    {
        "resnet18" => 8L * Width,
        "resnet50" => 32L * Width,
        "vit-tiny" => 3L * Width,
        _ => throw new ArgumentException($"backbone '{Name}' is unknown; known: {string.Join(", ", Names)}", nameof(Name)),
    };

    public void Validate()
    {
        if (!Names.Contains(Name))
            throw new ArgumentException($"backbone '{Name}' is unknown; known: {string.Join(", ", Names)}", nameof(Name));
        if (Width < 1) throw new ArgumentOutOfRangeException(nameof(Width), Width, "width must be at least 1");
        if (InputChannels < 1) throw new ArgumentOutOfRangeException(nameof(InputChannels), InputChannels, "input channels must be at least 1");
        if (!Stems.Contains(Stem))
            throw new ArgumentException($"stem '{Stem}' is unknown; known: {string.Join(", ", Stems)}", nameof(Stem));
        if (IsVisionTransformer)
        {
            if (PatchSize < 1) throw new ArgumentOutOfRangeException(nameof(PatchSize), PatchSize, "patch size must be at least 1");
            if (ImageSize < 1) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "image size must be at least 1");
            if (!Pools.Contains(Pool))
                throw new ArgumentException($"pool '{Pool}' is unknown; known: {string.Join(", ", Pools)}", nameof(Pool));
            if (ImageSize % PatchSize != 0)
                throw new ArgumentException($"PatchSize {PatchSize} must divide ImageSize {ImageSize}", nameof(PatchSize));
        }
    }

    public Backbone Create()
    {
        Validate();
        return IsVisionTransformer ? new VisionTransformer(this) : new ResNet(this);
    }
}
