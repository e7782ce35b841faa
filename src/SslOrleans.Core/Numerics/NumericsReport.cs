namespace SslOrleans.Core.Numerics;

/// <summary>What a numerics self-check ran and found: <paramref name="WorstRatio"/> is the largest error of any
/// checked element as a fraction of its rounding bound (below 1 passes), on <paramref name="WorstOp"/>.</summary>
public sealed record NumericsReport(int Ops, int Threads, int Repeats, double Seconds, double WorstRatio, string WorstOp)
{
    public override string ToString() =>
        FormattableString.Invariant($"{Ops} layer ops at {Threads} threads ×{Repeats} in {Seconds * 1000:F0} ms, worst error {WorstRatio:G2} of its bound ({WorstOp})");
}
