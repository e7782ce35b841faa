using Orleans.Concurrency;

namespace SslOrleans.Abstractions.Runs;

/// <summary>The coordinator of one run (key: run id): the step loop, membership, schedules, checkpoints.</summary>
[Alias("sslo.IRunGrain")]
public interface IRunGrain : IGrainWithStringKey
{
    /// <summary>Validates the spec and starts the run in the background; returns at once.</summary>
    [Alias("Start")] Task<RunStatus> StartAsync(RunSpec spec);
    /// <summary>Interleaves with every other call, a running StartAsync included: the slot register asks runs
    /// for their state while runs wait on the register.</summary>
    [Alias("GetStatus"), AlwaysInterleave] Task<RunStatus> GetStatusAsync();
    /// <summary>Steps finished after <paramref name="afterStep"/> (at most 1000).</summary>
    [Alias("GetProgress")] Task<IReadOnlyList<StepProgress>> GetProgressAsync(long afterStep);
    /// <summary>Stops after the current step, writing a checkpoint the run can resume from.</summary>
    [Alias("Stop")] Task StopAsync();
    /// <summary>Sets the number of workers a running run aims for from its next step boundary: it takes free device
    /// slots up to it, or lets its newest workers go above it. The global batch and micro-batch stay as they are.</summary>
    [Alias("Scale"), AlwaysInterleave] Task<RunStatus> ScaleAsync(int workers);
    /// <summary>Pushes every finished step and every change of status to <paramref name="observer"/> until the
    /// subscription lapses (<see cref="RunSubscription.Lifetime"/> after the last subscribe) or is ended; subscribing again renews it.</summary>
    /// <summary>A silo is stopping gracefully (SIGTERM, a pod's eviction): its workers finish the step they are in and are
    /// let go at the next step boundary, its parameter shards move to other silos from their mirrors there, and no new
    /// worker starts on it. Interleaves with a running step.</summary>
    [Alias("ReleaseSilo"), AlwaysInterleave] Task ReleaseSiloAsync(string silo);

    [Alias("Subscribe"), AlwaysInterleave] Task<RunStatus> SubscribeAsync(IRunObserver observer);
    [Alias("Unsubscribe"), AlwaysInterleave] Task UnsubscribeAsync(IRunObserver observer);
}
