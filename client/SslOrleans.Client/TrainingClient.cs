using System.Runtime.CompilerServices;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Client;

/// <summary>The SDK for operators and monitors: submit a run, watch its progress, stop it.</summary>
public sealed class TrainingClient(IGrainFactory grains)
{
    public Task<RunStatus> SubmitAsync(RunSpec spec)
    {
        RunSpecValidator.ThrowIfInvalid(spec);
        return Run(spec.RunId).StartAsync(spec);
    }

    public Task<RunStatus> GetStatusAsync(string runId) => Run(runId).GetStatusAsync();

    public Task StopAsync(string runId) => Run(runId).StopAsync();

    /// <summary>Every finished step, then the final status once the run ends (completed, stopped or failed).</summary>
    public async IAsyncEnumerable<RunUpdate> WatchAsync(string runId, TimeSpan? pollInterval = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var run = Run(runId);
        long seen = 0;
        var interval = pollInterval ?? TimeSpan.FromMilliseconds(500);
        while (true)
        {
            var status = await run.GetStatusAsync();
            foreach (var p in await run.GetProgressAsync(seen))
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

    private IRunGrain Run(string runId) => grains.GetGrain<IRunGrain>(runId);
}

/// <summary>The run's status, with the step that just finished when there is one.</summary>
public sealed record RunUpdate(RunStatus Status, StepProgress? Step);
