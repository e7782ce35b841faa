using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;

namespace SslOrleans.Grains;

/// <summary>
/// The one mapping from a run spec to the Core options a replica is built from. Workers and the evaluation of a
/// checkpoint both use it, so that `sslo eval --init` rebuilds exactly the weights a run started from.
/// </summary>
public static class RunSpecOptions
{
    /// <param name="channels">Input channels of the run's dataset.</param>
    public static MethodOptions Method(RunSpec spec, int channels)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new(spec.Method, new BackboneOptions(spec.Backbone, spec.Width, channels), spec.Seed, spec.HiddenDim, spec.ProjectionDim, spec.TauBase);
    }
}
