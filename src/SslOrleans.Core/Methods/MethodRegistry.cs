using SslOrleans.Core.Methods.Barlow;
using SslOrleans.Core.Methods.Beit;
using SslOrleans.Core.Methods.Byol;
using SslOrleans.Core.Methods.Mae;
using SslOrleans.Core.Methods.RotNet;
using SslOrleans.Core.Methods.SimClr;
using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods;

/// <summary>Methods by name, each with its paper's optimisation recipe. Adding a method adds one line here.</summary>
public static class MethodRegistry
{
    /// <param name="Backbone">The method's own adjustment of the backbone options (MAE and BEiT pool the patch tokens).</param>
    private sealed record Entry(Func<MethodOptions, ISslMethod> Create, MethodRecipe Recipe, Func<BackboneOptions, BackboneOptions>? Backbone = null);

    // Recipes: solo-learn's CIFAR settings (REFERENCE.md); the learning rate is at batch 256 and scales linearly.
    // MAE and BEiT: AdamW with weight decay 0.05 (MAE's β2 = 0.95); see MethodRecipe for their learning rates.
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.OrdinalIgnoreCase)
    {
        ["byol"] = new(o => new ByolMethod(new ByolOptions(o.Backbone, o.HiddenDim, o.ProjectionDim > 0 ? o.ProjectionDim : 256, o.TauBase)), new("lars", 1.0, 1e-5)),
        ["simclr"] = new(o => new SimClrMethod(new SimClrOptions(o.Backbone, o.HiddenDim, o.ProjectionDim, o.Temperature)), new("lars", 0.4, 1e-4)),
        ["barlow"] = new(o => new BarlowTwinsMethod(new BarlowTwinsOptions(o.Backbone, o.HiddenDim, o.ProjectionDim, o.BarlowLambda, o.BarlowScale)), new("lars", 0.3, 1e-4)),
        ["rotnet"] = new(o => new RotNetMethod(new RotNetOptions(o.Backbone)), new("sgd", 0.1, 5e-4, Nesterov: true)),
        ["mae"] = new(o => new MaeMethod(new MaeOptions(o.Backbone, o.MaskRatio ?? 0.75, o.NormPixLoss, o.DecoderDim, o.DecoderDepth)),
            new("adamw", MaeLr, 0.05, Beta2: 0.95, Backbone: "vit-tiny"), PoolPatchTokens),
        ["beit"] = new(o => new BeitMethod(new BeitOptions(o.Backbone, o.Tokenizer, o.MaskRatio ?? 0.4)),
            new("adamw", BeitLr, 0.05, Backbone: "vit-tiny", NeedsTokenizer: true), PoolPatchTokens),
    };

    // Masked image modelling trains no cls output, so its features are the mean of the patch tokens (BEiT's linear probe).
    private static BackboneOptions PoolPatchTokens(BackboneOptions backbone) => backbone with { Pool = "mean" };

    // Learning rates at batch 256. The papers' are 1.5e-4 (MAE's base rate) and 1.5e-3 at batch 2048 (BEiT, 1.9e-4
    // at 256), for hundreds of epochs of ViT-B. The few epochs of a CPU budget on a small ViT learn faster with
    // 1e-3: two minutes of MAE at width 16 reached loss 0.40 and a linear probe of 66.4 % (10k/2k images) against
    // 0.60 and 62.9 % at 1.5e-4 (docs/benchmarks.md).
    private const double MaeLr = 1e-3, BeitLr = 1e-3;

    public static IReadOnlyCollection<string> Names => Entries.Keys;

    /// <summary>The method's default optimizer, learning rate (at batch 256) and weight decay.</summary>
    public static MethodRecipe Recipe(string method) => Find(method).Recipe;

    /// <summary>Builds a method whose initial weights depend only on <see cref="MethodOptions.Seed"/>.
    /// Every method creates its backbone first, so the initial backbone of a seed is the same for every method.</summary>
    public static ISslMethod Create(MethodOptions options)
    {
        var entry = Find(options.Method);
        var adjusted = options with { Backbone = BackboneOf(entry, options) };
        return Training.SeededConstruction.Seeded(options.Seed, () => entry.Create(adjusted));
    }

    /// <summary>
    /// The method's backbone alone, with the initial weights <see cref="Create"/> gives it: what evaluating a
    /// checkpoint needs, without the heads or anything they load (BEiT's tokenizer).
    /// </summary>
    public static Backbone CreateBackbone(MethodOptions options)
    {
        var backbone = BackboneOf(Find(options.Method), options);
        return Training.SeededConstruction.Seeded(options.Seed, backbone.Create);
    }

    private static BackboneOptions BackboneOf(Entry entry, MethodOptions options) => entry.Backbone?.Invoke(options.Backbone) ?? options.Backbone;

    private static Entry Find(string method) => Entries.TryGetValue(method, out var entry) ? entry
        : throw new ArgumentException($"method '{method}' is unknown; known: {string.Join(", ", Names)}");
}

/// <param name="HiddenDim">Hidden width of the heads; 0 = the method's default (scaled with the width).</param>
/// <param name="ProjectionDim">Embedding width; 0 = the method's default.</param>
/// <param name="MaskRatio">Share of masked patches (MAE, BEiT); null = the method's default (0.75, 0.4).</param>
/// <param name="NormPixLoss">MAE: standardise each target patch.</param>
/// <param name="DecoderDim">MAE's decoder width; 0 = 4 × width.</param>
/// <param name="DecoderDepth">MAE's decoder blocks.</param>
/// <param name="Tokenizer">BEiT: loads the frozen image tokenizer.</param>
public sealed record MethodOptions(string Method, BackboneOptions Backbone, long Seed, int HiddenDim = 0, int ProjectionDim = 0,
    double TauBase = 0.99, double Temperature = 0.2, double BarlowLambda = 0.0051, double BarlowScale = 0.1,
    double? MaskRatio = null, bool NormPixLoss = false, int DecoderDim = 0, int DecoderDepth = 2, Func<IPatchTokenizer>? Tokenizer = null);

/// <summary>A method's default optimisation (optimizer, learning rate at batch 256, weight decay, Nesterov, AdamW's β2),
/// its default backbone, and whether it needs an image tokenizer (BEiT).</summary>
public sealed record MethodRecipe(string Optimizer, double Lr, double WeightDecay, bool Nesterov = false, double Beta2 = 0.999,
    string Backbone = "resnet18", bool NeedsTokenizer = false);
