namespace SslOrleans.Core.Training;

/// <summary>
/// SplitMix64: a tiny, fixed algorithm, so that seeded view parameters never change with the runtime
/// and can be derived independently for any (seed, step, micro-batch, view) without shared state.
/// </summary>
public sealed class DeterministicRandom(ulong seed)
{
    private ulong state = seed;

    public static ulong Mix(params ReadOnlySpan<long> parts)
    {
        ulong h = 0x243F6A8885A308D3UL;
        foreach (var p in parts) h = SplitMix64.Next(ref h) ^ (ulong)p;
        return SplitMix64.Next(ref h);
    }

    public ulong NextUInt64() => SplitMix64.Next(ref state);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    public bool Bernoulli(double p) => NextDouble() < p;
}
