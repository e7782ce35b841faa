using SslOrleans.Core.Methods.Byol;
using SslOrleans.Core.Models;

namespace SslOrleans.Core.Methods;

/// <summary>Methods by name. Adding a method adds one line here.</summary>
public static class MethodRegistry
{
    private static readonly Dictionary<string, Func<MethodOptions, ISslMethod>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["byol"] = o => new ByolMethod(new ByolOptions(o.Backbone, o.HiddenDim, o.ProjectionDim, o.TauBase)),
    };

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    /// <summary>Builds a method whose initial weights depend only on <see cref="MethodOptions.Seed"/>.</summary>
    public static ISslMethod Create(MethodOptions options)
    {
        if (!Factories.TryGetValue(options.Method, out var factory))
            throw new ArgumentException($"method '{options.Method}' is unknown; known: {string.Join(", ", Names)}");
        // Module initialisation draws from libtorch's global generator: serialise and seed it.
        lock (Factories)
        {
            TorchSharp.torch.manual_seed(options.Seed);
            return factory(options);
        }
    }
}

public sealed record MethodOptions(string Method, BackboneOptions Backbone, long Seed, int HiddenDim = 0, int ProjectionDim = 256, double TauBase = 0.99);
