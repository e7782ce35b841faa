using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Data;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;

namespace SslOrleans.Grains;

/// <summary>
/// The one mapping from a run spec to the Core options a replica is built from. Workers and the evaluation of a
/// checkpoint both use it, so that `sslo eval --init` rebuilds exactly the weights a run started from.
/// </summary>
public static class RunSpecOptions
{
    /// <param name="data">The run's dataset: its channels and image side shape the backbone.</param>
    public static MethodOptions Method(RunSpec spec, ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new(spec.Method, new BackboneOptions(spec.Backbone, spec.Width, data.Channels, spec.Stem, spec.PatchSize, data.Height),
            spec.Seed, spec.HiddenDim, spec.ProjectionDim, spec.TauBase, spec.Temperature, spec.BarlowLambda, spec.BarlowScale);
    }
}
