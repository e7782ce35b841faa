using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Checkpoints;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Grains.Checkpoints;
using SslOrleans.Grains.Diagnostics;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// The checkpoints of one run, written in the background. Taking one holds the step loop only while the shards copy
/// their state and worker 0 exports the backbone; the uploads and the commit go on while training continues. At most
/// one checkpoint is in flight: one due while another uploads is skipped with a warning (a periodic checkpoint at
/// every multiple of checkpoint_every; a timed one at the next step). A failed background checkpoint is a warning
/// too — the next one is tried — and leaves no manifest, so it is never loaded. Runs on the run grain's scheduler.
/// </summary>
internal sealed class RunCheckpoints(ILogger logger, ICheckpointStore store, RunSpec spec, IEnumerable<string>? earlierWarnings = null)
{
    private readonly Stopwatch sinceLast = Stopwatch.StartNew();
    private readonly List<string> warnings = [.. earlierWarnings ?? []];
    private Task? inFlight;
    private long inFlightStep = -1;

    /// <summary>The last checkpoint committed by this run: its manifest's name, the manifest and the backbone's L2 norm.</summary>
    public (string Path, CheckpointManifest Manifest, double ParamL2)? Last { get; private set; }

    public ICheckpointStore Store => store;

    /// <summary>The span of the last step trained (set by the step): the checkpoint of its state is its child.</summary>
    public ActivityContext StepTrace { get; set; }

    /// <summary>Checkpoints committed by this run.</summary>
    public int Committed { get; private set; }

    /// <summary>Seconds the step loop waited for the copies of the checkpoints taken during training.</summary>
    public double BlockedSeconds { get; private set; }

    /// <summary>What went wrong without failing the run (skipped or failed checkpoints, checkpoints skipped on resume).</summary>
    public IReadOnlyList<string> Warnings => warnings;

    /// <summary>The checkpoint a resumed run starts from: a run that trains no further step ends with it, not with a
    /// second commit of the same step.</summary>
    public void StartFrom(CheckpointManifest manifest) =>
        Last = (CheckpointManifests.ManifestName(store, manifest.Step), manifest, manifest.Metrics.GetValueOrDefault("param_l2", double.NaN));

    public void Warn(string message)
    {
        warnings.Add(message);
        logger.LogWarning("Run {Run}: {Warning}", spec.RunId, message);
    }

    /// <summary>Whether a periodic checkpoint is due after <paramref name="step"/> steps.</summary>
    public bool Due(long step) =>
        (spec.CheckpointEvery > 0 && step % spec.CheckpointEvery == 0)
        || (spec.CheckpointMinutes > 0 && sinceLast.Elapsed.TotalMinutes >= spec.CheckpointMinutes && inFlight is not { IsCompleted: false });

    /// <summary>Starts a checkpoint of the state after <paramref name="step"/> steps in the background, or skips it
    /// (with a warning) while the previous one is still in flight.</summary>
    public async Task BeginAsync(long step, Func<Task<Snapshot>> snapshot)
    {
        if (inFlight is { IsCompleted: false })
        {
            Warn($"checkpoint of step {step} skipped: the checkpoint of step {inFlightStep} is still being written (checkpoint_every or checkpoint_minutes is shorter than an upload)");
            TrainingMetrics.CheckpointFailures.Add(1, TrainingMetrics.Run(spec.RunId, spec.Method));
            return;
        }
        // The span lasts until the commit, in the background: it ends in CompleteInBackgroundAsync.
        var span = TrainingTracing.StartCheckpoint(spec.RunId, step, StepTrace);
        var blocked = Stopwatch.StartNew();
        Snapshot taken;
        try
        {
            taken = await snapshot();
        }
        catch (Exception e)
        {
            TrainingTracing.Fail(span, e);
            span?.Dispose();
            throw;
        }
        BlockedSeconds += blocked.Elapsed.TotalSeconds;
        TrainingMetrics.CheckpointBlocked.Record(blocked.Elapsed.TotalSeconds, TrainingMetrics.Run(spec.RunId, spec.Method));
        span?.SetTag("sslo.checkpoint.blocked", blocked.Elapsed.TotalSeconds);
        sinceLast.Restart();
        inFlightStep = step;
        inFlight = CompleteInBackgroundAsync(taken, span);
    }

    /// <summary>The final checkpoint: waits for the one in flight, then writes this one and waits for it; its failure fails the run.
    /// When the one in flight was of the same step, it is the final checkpoint.</summary>
    /// <param name="progress">Told (files uploaded, files to upload) as each file of the checkpoint is written.</param>
    public async Task<(string Path, CheckpointManifest Manifest, double ParamL2)> WriteFinalAsync(long step, Func<Task<Snapshot>> snapshot,
        Action<long, long>? progress = null)
    {
        await DrainAsync();
        if (Last is { } last && last.Manifest.Step == step) return last;
        using var span = TrainingTracing.StartCheckpoint(spec.RunId, step, StepTrace);
        span?.SetTag("sslo.checkpoint.final", true);
        try
        {
            var taken = await snapshot();
            sinceLast.Restart();
            return await CompleteAsync(taken, progress);
        }
        catch (Exception e)
        {
            TrainingTracing.Fail(span, e);
            throw;
        }
    }

    /// <summary>Waits for the checkpoint in flight, if any (its failure is already a warning).</summary>
    public async Task DrainAsync()
    {
        if (inFlight is { } pending) await pending;
    }

    /// <summary>Adds scores to the manifest of the last checkpoint (same files).</summary>
    public async Task AddMetricsAsync(IReadOnlyDictionary<string, double> scores)
    {
        if (Last is not { } last) return;
        var metrics = new Dictionary<string, double>(last.Manifest.Metrics);
        foreach (var (k, v) in scores) metrics[k] = v;
        var manifest = last.Manifest with { Metrics = metrics };
        await Task.Run(() => store.ReplaceManifestAsync(manifest.Step, ManifestJson.Serialize(manifest)));
        Last = last with { Manifest = manifest };
    }

    private async Task CompleteInBackgroundAsync(Snapshot taken, Activity? span)
    {
        try
        {
            await CompleteAsync(taken);
        }
        catch (Exception e)
        {
            TrainingTracing.Fail(span, e);
            TrainingMetrics.CheckpointFailures.Add(1, TrainingMetrics.Run(spec.RunId, spec.Method));
            var reason = e is AggregateException { InnerException: { } inner } ? inner.Message : e.Message;
            Warn($"checkpoint of step {taken.Manifest.Step} failed and was not committed ({e.GetType().Name}: {reason}); training goes on and the next checkpoint is tried");
        }
        finally
        {
            span?.Dispose();
        }
    }

    private async Task<(string Path, CheckpointManifest Manifest, double ParamL2)> CompleteAsync(Snapshot taken, Action<long, long>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        long step = taken.Manifest.Step;
        long total = taken.Shards.Length + 1 + (taken.Export.OnlineProbe is null ? 0 : 1), done = 0;
        async Task<T> Counted<T>(Task<T> upload)
        {
            var written = await upload;
            progress?.Invoke(++done, total);
            return written;
        }
        // The backbone and the probe go up beside the shards' own uploads.
        var backbone = Counted(Task.Run(() => store.WriteFileAsync(step, CheckpointNames.Backbone, taken.Export.SafeTensors)));
        var probe = taken.Export.OnlineProbe is { } p ? Counted(Task.Run(() => store.WriteFileAsync(step, CheckpointNames.OnlineProbe, p))) : null;
        var files = (await Task.WhenAll(taken.Shards.Select(g => Counted(g.EndSaveAsync(step))))).ToList();
        files.Add((await backbone).ToDigest());
        if (probe is not null) files.Add((await probe).ToDigest());
        var manifest = taken.Manifest with { Files = files.ToArray(), CreatedUtc = DateTimeOffset.UtcNow };
        var path = await Task.Run(() => store.CommitAsync(manifest));
        Last = (path, manifest, taken.Export.ParamL2);
        Committed++;
        var tags = TrainingMetrics.Run(spec.RunId, spec.Method);
        TrainingMetrics.Checkpoints.Add(1, tags);
        TrainingMetrics.CheckpointDuration.Record(clock.Elapsed.TotalSeconds, tags);
        long bytes = manifest.Files.Sum(f => f.Bytes);
        TrainingMetrics.CheckpointBytes.Add(bytes, tags);
        if (Activity.Current is { } span && span.Source == TrainingTracing.Source) span.SetTag("sslo.bytes", bytes);
        logger.LogInformation("Run {Run}: checkpoint {Path} in {Seconds:F2} s", spec.RunId, path, clock.Elapsed.TotalSeconds);
        var pruned = await Task.Run(() => new CheckpointCatalog(store).PruneAsync(spec.KeepLast));
        if (pruned.Count > 0) logger.LogInformation("Run {Run}: removed checkpoints {Steps} (keep_last {Keep})", spec.RunId, string.Join(", ", pruned), spec.KeepLast);
        return Last.Value;
    }

    /// <summary>A checkpoint's state as taken: the shards hold their copies, the backbone is exported, the manifest
    /// waits for its files.</summary>
    public sealed record Snapshot(IParameterShardGrain[] Shards, BackboneExport Export, CheckpointManifest Manifest);
}
