using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Methods;

namespace SslOrleans.Grains.Runs;

/// <summary>The method and backbone names this build can train, from their registries.</summary>
public static class SiloCatalog
{
    public static SpecCatalog Current { get; } = new(MethodRegistry.Names.ToArray(), Core.Models.BackboneOptions.Names.ToArray());
}
