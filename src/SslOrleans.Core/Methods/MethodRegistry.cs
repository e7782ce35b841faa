using SslOrleans.Core.Methods.Barlow;
using SslOrleans.Core.Methods.Byol;
using SslOrleans.Core.Methods.RotNet;
using SslOrleans.Core.Methods.SimClr;
using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods;

/// <summary>Methods by name, each with its paper's optimisation recipe. Adding a method adds one line here.</summary>
public static class MethodRegistry
{
    private sealed record Entry(Func<MethodOptions, ISslMethod> Create, MethodRecipe Recipe);

    // Recipes: solo-learn's CIFAR settings (REFERENCE.md); the learning rate is at batch 256 and scales linearly.
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.OrdinalIgnoreCase)
    {
        ["byol"] = new(o => new ByolMethod(new ByolOptions(o.Backbone, o.HiddenDim, o.ProjectionDim > 0 ? o.ProjectionDim : 256, o.TauBase)), new("lars", 1.0, 1e-5)),
        ["simclr"] = new(o => new SimClrMethod(new SimClrOptions(o.Backbone, o.HiddenDim, o.ProjectionDim, o.Temperature)), new("lars", 0.4, 1e-4)),
        ["barlow"] = new(o => new BarlowTwinsMethod(new BarlowTwinsOptions(o.Backbone, o.HiddenDim, o.ProjectionDim, o.BarlowLambda, o.BarlowScale)), new("lars", 0.3, 1e-4)),
        ["rotnet"] = new(o => new RotNetMethod(new RotNetOptions(o.Backbone)), new("sgd", 0.1, 5e-4, Nesterov: true)),
    };

    public static IReadOnlyCollection<string> Names => Entries.Keys;

    /// <summary>The method's default optimizer, learning rate (at batch 256) and weight decay.</summary>
    public static MethodRecipe Recipe(string method) => Find(method).Recipe;

    /// <summary>Builds a method whose initial weights depend only on <see cref="MethodOptions.Seed"/>.
    /// Every method creates its backbone first, so the initial backbone of a seed is the same for every method.</summary>
    public static ISslMethod Create(MethodOptions options)
    {
        var entry = Find(options.Method);
        // Module initialisation draws from libtorch's global generator: serialise and seed it.
        lock (Entries)
        {
            TorchSharp.torch.manual_seed(options.Seed);
            return entry.Create(options);
        }
    }

    private static Entry Find(string method) => Entries.TryGetValue(method, out var entry) ? entry
        : throw new ArgumentException($"method '{method}' is unknown; known: {string.Join(", ", Names)}");
}

/// <param name="HiddenDim">Hidden width of the heads; 0 = the method's default (scaled with the width).</param>
/// <param name="ProjectionDim">Embedding width; 0 = the method's default.</param>
public sealed record MethodOptions(string Method, BackboneOptions Backbone, long Seed, int HiddenDim = 0, int ProjectionDim = 0,
    double TauBase = 0.99, double Temperature = 0.2, double BarlowLambda = 0.0051, double BarlowScale = 0.1);

/// <summary>A method's default optimisation: optimizer name, learning rate at batch 256, weight decay.</summary>
public sealed record MethodRecipe(string Optimizer, double Lr, double WeightDecay, bool Nesterov = false);
