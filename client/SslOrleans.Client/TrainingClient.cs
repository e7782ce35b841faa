using System.Runtime.CompilerServices;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Client;

/// <summary>The SDK for operators and monitors: submit a run, watch its progress, scale it, stop it.</summary>
public sealed class TrainingClient(IGrainFactory grains)
{
    public Task<RunStatus> SubmitAsync(RunSpec spec)
    {
        RunSpecValidator.ThrowIfInvalid(spec);
        return Run(spec.RunId).StartAsync(spec);
    }

    /// <summary>The run's status; a <see cref="RunNotFoundException"/> when no run with this id was started on the cluster.</summary>
    public async Task<RunStatus> GetStatusAsync(string runId) => Known(runId, await Retrying(() => Run(runId).GetStatusAsync()));

    public Task StopAsync(string runId) => Run(runId).StopAsync();

    /// <summary>
    /// Sets the number of workers a running run aims for from its next step boundary (global batch and micro-batch
    /// stay): it takes free device slots up to it, or lets its newest workers go. Throws <see cref="RunNotFoundException"/>
    /// for a run never started, <see cref="ArgumentException"/> for a count outside 1..batch / micro_batch and
    /// <see cref="InvalidOperationException"/> for a run that is no longer running.
    /// </summary>
    public async Task<RunStatus> ScaleAsync(string runId, int workers)
    {
        var run = Run(runId);
        Known(runId, await run.GetStatusAsync());
        return await run.ScaleAsync(workers);
    }

    /// <summary>Every finished step, then the final status once the run ends (completed, stopped or failed).
    /// Throws <see cref="RunNotFoundException"/> when the cluster does not know the run (never started, or its
    /// coordinator was lost) instead of waiting for ever on a run that will not move.</summary>
    public async IAsyncEnumerable<RunUpdate> WatchAsync(string runId, TimeSpan? pollInterval = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var run = Run(runId);
        long seen = 0;
        var interval = pollInterval ?? TimeSpan.FromMilliseconds(500);
        while (true)
        {
            var status = Known(runId, await Retrying(run.GetStatusAsync, cancellation));
            foreach (var p in await Retrying(() => run.GetProgressAsync(seen), cancellation))
            {
                seen = p.Step;
                yield return new RunUpdate(status, p);
            }
            if (status.IsFinished)
            {
                yield return new RunUpdate(status, null);
                yield break;
            }
            yield return new RunUpdate(status, null);
            await Task.Delay(interval, cancellation);
        }
    }

    /// <summary>A run grain that was never started answers in its initial shape (pending, phase "pending", step 0,
    /// nothing else): a started run is running, evaluating or finished from the moment StartAsync returns.</summary>
    public static bool IsUnknown(RunStatus status) =>
        status is { State: RunState.Pending, Phase: "pending", Step: 0, Last: null, Result: null, Error: null };

    private static RunStatus Known(string runId, RunStatus status) =>
        IsUnknown(status) ? throw new RunNotFoundException(runId) : status;

    private IRunGrain Run(string runId) => grains.GetGrain<IRunGrain>(runId);

    /// <summary>How long a call is tried again while the cluster cannot answer it: the silo of the run's coordinator
    /// or of this client's gateway was lost, and membership has yet to declare it dead (then the run goes on elsewhere).</summary>
    public static TimeSpan RetryFor { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>One status or progress call: a run answers these at once (they interleave with its steps), so one
    /// that takes longer went to a silo that is gone, and Orleans' client would wait out its whole response timeout.</summary>
    public static TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(15);

    private static async Task<T> Retrying<T>(Func<Task<T>> call, CancellationToken cancellation = default)
    {
        var until = DateTime.UtcNow + RetryFor;
        while (true)
        {
            try
            {
                return await call().WaitAsync(CallTimeout, cancellation);
            }
            catch (Exception e) when (IsTransient(e) && DateTime.UtcNow < until)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellation);
            }
        }
    }

    /// <summary>Orleans' ways of saying the other side is gone for now: a dead or unreachable silo, a lost gateway.</summary>
    private static bool IsTransient(Exception e) => e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException
        || e.GetType().Name.Contains("ConnectionFailed", StringComparison.Ordinal) || e.GetType().Name.Contains("GatewayTooBusy", StringComparison.Ordinal)
        || e.InnerException is { } inner && IsTransient(inner);
}

/// <summary>The run's status, with the step that just finished when there is one.</summary>
public sealed record RunUpdate(RunStatus Status, StepProgress? Step);

/// <summary>No run with this id was started on the cluster (or its coordinator's silo left and it was not resumed).</summary>
public sealed class RunNotFoundException(string runId)
    : KeyNotFoundException($"run '{runId}' is unknown to this cluster: no run with this id was started on it " +
                           "(or the silo of its coordinator left the cluster; resume it from its checkpoints with --resume)")
{
    public string RunId { get; } = runId;
}
