namespace SslOrleans.Abstractions.Runs;

/// <summary>
/// How far a long phase that is not a training step has come: evaluation's feature extraction, a checkpoint's
/// upload, tokenizer training. <see cref="Done"/> of <see cref="Total"/> <see cref="Unit"/> ("images", "bytes",
/// "steps"), with an estimate of the seconds left once some of it is done.
/// </summary>
[GenerateSerializer, Immutable, Alias("sslo.PhaseProgress")]
public sealed record PhaseProgress(
    [property: Id(0)] string Phase,
    [property: Id(1)] long Done,
    [property: Id(2)] long Total,
    [property: Id(3)] string Unit,
    [property: Id(4)] double ElapsedSeconds,
    [property: Id(5)] double? EtaSeconds)
{
    public double Fraction => Total > 0 ? Math.Clamp((double)Done / Total, 0, 1) : 0;

    /// <summary>The progress after <paramref name="done"/> of <paramref name="total"/> in <paramref name="elapsedSeconds"/>:
    /// the rest at the rate so far.</summary>
    public static PhaseProgress At(string phase, long done, long total, string unit, double elapsedSeconds) =>
        new(phase, done, total, unit, elapsedSeconds,
            done > 0 && total >= done && elapsedSeconds > 0 ? elapsedSeconds * (total - done) / done : null);
}
