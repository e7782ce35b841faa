using System.Diagnostics;

namespace SslOrleans.Grains.Diagnostics;

/// <summary>
/// Times the phases of one step on the coordinator, one after the other, each with its span (a child of the step's):
/// <see cref="Begin"/> and <see cref="End"/> around a phase, <see cref="Record"/> once the step is applied, so that
/// <c>sslo.step.phase.duration</c> counts only steps that count. A phase still open when the clock is disposed is one
/// the step failed in: its span ends marked so.
/// </summary>
internal sealed class PhaseClock(string runId, string method) : IDisposable
{
    private readonly List<(string Phase, double Seconds)> done = [];
    private string? phase;
    private long started;
    private Activity? span;

    /// <param name="span">False for a phase whose spans are the workers' own (compute: sslo.compute, sslo.push).</param>
    public void Begin(string name, bool span = true)
    {
        phase = name;
        started = Stopwatch.GetTimestamp();
        // Sync on purpose: the span becomes Activity.Current of the caller's flow, so the phase's calls are its children.
        this.span = span ? TrainingTracing.StartPhase("sslo." + name) : null;
    }

    public void End()
    {
        if (phase is null) return;
        done.Add((phase, Stopwatch.GetElapsedTime(started).TotalSeconds));
        phase = null;
        span?.Dispose();
        span = null;
    }

    public void Record()
    {
        foreach (var (name, seconds) in done)
            TrainingMetrics.PhaseDuration.Record(seconds, TrainingMetrics.Run(runId, method, "sslo.phase", name));
    }

    public void Dispose()
    {
        if (span is null) return;
        span.SetStatus(ActivityStatusCode.Error, $"the step failed in its {phase} phase");
        span.Dispose();
        span = null;
    }
}
