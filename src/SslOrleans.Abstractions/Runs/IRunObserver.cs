namespace SslOrleans.Abstractions.Runs;

/// <summary>
/// A watcher of one run, called by the run as things happen (<see cref="IRunGrain.SubscribeAsync"/>): every finished
/// step, and the status whenever its state, phase or phase progress changes. A subscription lapses unless renewed
/// within <see cref="RunSubscription.Lifetime"/>, so a watcher that went away costs the run nothing for long.
/// </summary>
[Alias("sslo.IRunObserver")]
public interface IRunObserver : IGrainObserver
{
    [Alias("OnStep")] void OnStep(StepProgress step);
    [Alias("OnStatus")] void OnStatus(RunStatus status);
}
