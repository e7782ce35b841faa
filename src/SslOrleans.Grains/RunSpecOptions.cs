using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Data;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Methods.Beit;
using SslOrleans.Core.Models;
using SslOrleans.Core.Tokenizers;

namespace SslOrleans.Grains;

/// <summary>
/// The one mapping from a run spec to the Core options a replica is built from. Workers and the evaluation of a
/// checkpoint both use it, so that `sslo eval --init` rebuilds exactly the weights a run started from.
/// </summary>
public static class RunSpecOptions
{
    /// <param name="data">The run's dataset: its channels and image side shape the backbone.</param>
    public static MethodOptions Method(RunSpec spec, IImageSource data) => Method(spec, data.Channels, data.Height);

    /// <param name="channels">The images' channels and <paramref name="side"/> their height, which shape the backbone.</param>
    public static MethodOptions Method(RunSpec spec, int channels, int side)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec = Runs.RunPlan.WithMethodDefaults(spec);
        var tokenizer = spec.Tokenizer;
        return new(spec.Method, new BackboneOptions(spec.Backbone!, spec.Width, channels, spec.Stem!, spec.PatchSize, side),
            spec.Seed, spec.HiddenDim, spec.ProjectionDim, spec.TauBase, spec.Temperature, spec.BarlowLambda, spec.BarlowScale,
            spec.MaskRatio, spec.NormPixLoss, spec.DecoderDim, spec.DecoderDepth,
            Tokenizer: tokenizer is null ? null : () => TokenizerCheckpoint.Load(tokenizer));
    }

    /// <summary>
    /// What a method needs beyond the spec's own values, checked before a run starts so that a missing file is
    /// bad input and not a failed run: BEiT's tokenizer must exist, be one whose weights match their sha256, and cut
    /// the backbone's patches (image size and channels are checked when the workers load it);
    /// a tokenizer given to another method is a mistake worth naming.
    /// </summary>
    public static void CheckRequirements(RunSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        bool needs = MethodRegistry.Recipe(spec.Method).NeedsTokenizer;
        if (!needs)
        {
            if (spec.Tokenizer is not null) throw new ArgumentException($"tokenizer: method '{spec.Method}' uses no tokenizer (only beit does); remove the key");
            return;
        }
        if (spec.Tokenizer is null) throw new ArgumentException($"tokenizer: method '{spec.Method}' needs an image tokenizer; {BeitOptions.HowToMakeATokenizer}");
        var info = TokenizerCheckpoint.Verify(spec.Tokenizer);
        if (info.Options.PatchSize != spec.PatchSize)
            throw new ArgumentException($"tokenizer: {spec.Tokenizer} codes {info.Options.PatchSize}×{info.Options.PatchSize} patches but patch_size is {spec.PatchSize}; " +
                                        $"pass --patch-size {info.Options.PatchSize} or train a tokenizer with --patch-size {spec.PatchSize}");
    }
}
