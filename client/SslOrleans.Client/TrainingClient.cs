using System.Runtime.CompilerServices;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Storage;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Client;

/// <summary>
/// The SDK for operators and monitors: submit a run, list the cluster's runs, watch one (pushed updates), scale it,
/// stop it, and reach its checkpoints. Connect with <see cref="ClusterClientHost.ConnectAsync(string, Action{TrainingClientOptions}?, CancellationToken)"/>
/// and pass its <see cref="ClusterClientHost.Client"/>.
/// </summary>
public sealed class TrainingClient(IGrainFactory grains)
{
    public Task<RunStatus> SubmitAsync(RunSpec spec)
    {
        RunSpecValidator.ThrowIfInvalid(spec);
        return Run(spec.RunId).StartAsync(spec);
    }

    /// <summary>The run's status; a <see cref="RunNotFoundException"/> when no run with this id was started on the cluster.</summary>
    public async Task<RunStatus> GetStatusAsync(string runId) => Known(runId, await Retrying(() => Run(runId).GetStatusAsync()));

    /// <summary>Asks the run to stop after its current step, writing a checkpoint it can resume from; returns its
    /// status. Throws <see cref="RunNotFoundException"/> for a run never started.</summary>
    public async Task<RunStatus> StopAsync(string runId)
    {
        var run = Run(runId);
        var status = Known(runId, await Retrying(run.GetStatusAsync));
        if (!status.IsFinished) await Retrying(async () => { await run.StopAsync(); return true; });
        return status;
    }

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

    /// <summary>
    /// Every finished step as the run pushes it, every change of status (phase, phase progress such as evaluation's),
    /// then the final status once the run ends (completed, stopped or failed). Steps come in order, each once, even
    /// across the loss of the coordinator's silo or of this client's gateway: pushes are checked against the run's
    /// progress list, which fills any gap. Throws <see cref="RunNotFoundException"/> when the cluster does not know the
    /// run (never started) instead of waiting for ever on a run that will not move.
    /// </summary>
    /// <param name="afterStep">Steps after this one are reported (0: all that the run still lists).</param>
    public async IAsyncEnumerable<RunUpdate> WatchAsync(string runId, long afterStep = 0,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var run = Run(runId);
        var watch = new RunWatch();
        var reference = grains.CreateObjectReference<IRunObserver>(watch);
        try
        {
            long seen = afterStep;
            var status = Known(runId, await Retrying(() => run.SubscribeAsync(reference), cancellation));
            yield return new RunUpdate(status, null);
            var renewAt = DateTime.UtcNow + RunWatch.RenewEvery;
            bool catchUp = true;
            while (true)
            {
                if (catchUp)
                {
                    // Steps the run finished that no push brought (before the subscription, or lost on the way).
                    foreach (var p in await StepsAsync(run, seen, int.MaxValue, cancellation))
                    {
                        seen = p.Step;
                        status = status with { Step = Math.Max(status.Step, p.Step), Last = p };
                        yield return new RunUpdate(status, p);
                    }
                    catchUp = false;
                }
                if (status.IsFinished)
                {
                    yield return new RunUpdate(status, null);
                    yield break;
                }
                var wait = renewAt - DateTime.UtcNow;
                bool pushedSomething = wait > TimeSpan.Zero && await WaitToReadAsync(watch, wait, cancellation);
                if (!pushedSomething)
                {
                    // Renewal: the subscription lives on, and a run that moved to another silo (its coordinator's was
                    // lost) is subscribed to again where it now lives; its status and any missed steps follow.
                    status = Known(runId, await Retrying(() => run.SubscribeAsync(reference), cancellation));
                    renewAt = DateTime.UtcNow + RunWatch.RenewEvery;
                    catchUp = true;
                    continue;
                }
                while (watch.Pushed.TryRead(out var item))
                {
                    if (item is StepProgress p)
                    {
                        if (p.Step <= seen) continue; // already reported
                        if (p.Step > seen + 1)
                        {
                            catchUp = true; // a push went missing: the progress list has it
                            continue;
                        }
                        seen = p.Step;
                        status = status with { Step = Math.Max(status.Step, p.Step), Last = p };
                        yield return new RunUpdate(status, p);
                    }
                    else if (item is RunStatus pushedStatus)
                    {
                        status = pushedStatus;
                        if (status.Step > seen || status.IsFinished) catchUp = true; // report every step before the end
                        else yield return new RunUpdate(status, null);
                    }
                }
            }
        }
        finally
        {
            try { await run.UnsubscribeAsync(reference).WaitAsync(CallTimeout, CancellationToken.None); }
            catch (Exception e) when (IsTransient(e) || e is OrleansException) { } // it lapses on its own
            grains.DeleteObjectReference<IRunObserver>(reference);
        }
    }

    private static async Task<bool> WaitToReadAsync(RunWatch watch, TimeSpan wait, CancellationToken cancellation)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        limit.CancelAfter(wait);
        try
        {
            return await watch.Pushed.WaitToReadAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// The checkpoints of a run, read where the run writes them (its <see cref="RunStatus.Out"/>: a folder the silos
    /// share with this machine, or az:// with the account of <paramref name="storage"/> or SSLO_STORAGE). Each entry
    /// has its step, manifest (metrics, files with sha256) and whether <c>latest</c> names it; verify and download
    /// through the returned catalog; load a backbone with SslOrleans.Checkpoints.
    /// </summary>
    public async Task<(CheckpointCatalog Catalog, IReadOnlyList<CheckpointEntry> Checkpoints)> ListCheckpointsAsync(
        string runId, StorageOptions? storage = null, CancellationToken cancellation = default)
    {
        var status = await GetStatusAsync(runId);
        var location = status.Out ?? throw new InvalidOperationException($"run '{runId}' names no checkpoint location yet");
        var catalog = new CheckpointCatalog(new CheckpointStoreFactory((storage ?? new StorageOptions()).WithEnvironment()).Open(location));
        return (catalog, await catalog.ListAsync(cancellation));
    }

    /// <summary>The steps the run finished after <paramref name="afterStep"/>, at most <paramref name="max"/> of them
    /// (the run answers in pages of up to 1000: this asks on from the last until it has no more).</summary>
    public Task<IReadOnlyList<StepProgress>> GetStepsAsync(string runId, long afterStep, int max = int.MaxValue, CancellationToken cancellation = default) =>
        StepsAsync(Run(runId), afterStep, max, cancellation);

    private static async Task<IReadOnlyList<StepProgress>> StepsAsync(IRunGrain run, long afterStep, int max, CancellationToken cancellation)
    {
        var steps = new List<StepProgress>();
        while (steps.Count < max)
        {
            long after = steps.Count > 0 ? steps[^1].Step : afterStep;
            var page = await Retrying(() => run.GetProgressAsync(after), cancellation);
            if (page.Count == 0) break;
            steps.AddRange(page);
        }
        return steps;
    }

    /// <summary>Every run the cluster remembers (the running ones and the newest finished ones), newest first.</summary>
    public Task<IReadOnlyList<RunStatus>> ListAsync(CancellationToken cancellation = default) =>
        Retrying(() => grains.GetGrain<IRunRegistryGrain>(0).ListAsync(), cancellation);

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
