namespace SslOrleans.Core.Training;

/// <summary>Per-step schedules (solo-learn's conventions).</summary>
public static class Schedules
{
    /// <summary>Linear warm-up from base/warmup to base, then cosine decay to <paramref name="minLr"/> at the last step.</summary>
    public static double WarmupCosine(long step, long totalSteps, long warmupSteps, double baseLr, double minLr = 0)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "must be at least 1");
        if (step < warmupSteps) return baseLr * (step + 1) / warmupSteps;
        long span = Math.Max(1, totalSteps - warmupSteps);
        double progress = Math.Min(1.0, (double)(step - warmupSteps) / span);
        return minLr + (baseLr - minLr) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>BYOL's EMA coefficient: τ = 1 − (1 − τ₀)(cos(πk/K) + 1)/2, from τ₀ at k = 0 to 1 at k = K.</summary>
    public static double ByolTau(long step, long totalSteps, double tauBase)
    {
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "must be at least 1");
        double k = Math.Min(step, totalSteps);
        return 1 - (1 - tauBase) * (Math.Cos(Math.PI * k / totalSteps) + 1) / 2;
    }
}
