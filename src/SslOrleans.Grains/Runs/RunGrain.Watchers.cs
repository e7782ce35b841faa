using Orleans.Utilities;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// The run's watchers (<see cref="IRunObserver"/>): every finished step and every change of state, phase or phase
/// progress is pushed to them as it happens, one-way, so a slow or vanished watcher never holds the step loop.
/// </summary>
public sealed partial class RunGrain
{
    private ObserverManager<IRunObserver>? watchers;

    private ObserverManager<IRunObserver> Watchers => watchers ??= new(RunSubscription.Lifetime, logger);

    public Task<RunStatus> SubscribeAsync(IRunObserver observer)
    {
        Watchers.Subscribe(observer, observer);
        return Task.FromResult(Status());
    }

    public Task UnsubscribeAsync(IRunObserver observer)
    {
        Watchers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    /// <summary>What the run is doing now; a change is pushed to the watchers.</summary>
    private string Phase
    {
        get => phase;
        set
        {
            if (phase == value) return;
            phase = value;
            phaseProgress = null;
            NotifyStatus();
        }
    }

    private void NotifyStatus()
    {
        if (watchers is not { Count: > 0 }) return;
        var status = Status();
        watchers.Notify(o => o.OnStatus(status));
    }

    private void NotifyStep(StepProgress p)
    {
        if (watchers is not { Count: > 0 }) return;
        watchers.Notify(o => o.OnStep(p));
    }

    /// <summary>A callback for a long phase's progress (evaluation's images, a checkpoint's files): it records how far
    /// the current phase has come and tells the watchers, at most twice a second and always at the end.</summary>
    private Action<long, long> PhaseReporter(string unit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string reportedPhase = phase;
        double lastPush = double.NegativeInfinity;
        // Called from worker-call continuations on this grain's scheduler: no locking needed.
        return (done, total) =>
        {
            if (phase != reportedPhase) return;
            double t = clock.Elapsed.TotalSeconds;
            phaseProgress = PhaseProgress.At(reportedPhase, done, total, unit, t);
            if (done >= total || t - lastPush >= 0.5)
            {
                lastPush = t;
                NotifyStatus();
            }
        };
    }
}
