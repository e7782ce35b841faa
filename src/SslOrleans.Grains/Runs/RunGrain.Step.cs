using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Grains.Diagnostics;

namespace SslOrleans.Grains.Runs;

/// <summary>One step, surviving the loss of workers and shards: the step's micro-batches are cut into one contiguous
/// range per worker; a range whose worker fails, misses the step's deadline or whose push did not reach every shard is
/// computed again by the surviving workers, in the same step, until every shard holds every range exactly once. A
/// shard lost with its silo is rebuilt from its mirror first (RunGrain.Recovery.cs).</summary>
public sealed partial class RunGrain
{
    /// <summary>Rounds of redone work one step may take before the run gives up.</summary>
    private const int MaxRedoRounds = 8;

    private async Task TrainStepAsync(RunSpec s, SampleFeed data, Stopwatch clock, bool globalBatchLoss)
    {
        // Instrumentation: the step's span (its trace reaches the workers through the calls' RequestContext) and
        // the coordinator's time in each phase; nothing of it changes what the step computes.
        using var stepSpan = TrainingTracing.StartStep(s.RunId, s.Method, step + 1);
        try
        {
            await TrainStepCoreAsync(s, data, clock, globalBatchLoss, stepSpan);
        }
        catch (Exception e)
        {
            TrainingTracing.Fail(stepSpan, e);
            if (e is NonFiniteStepException) TrainingMetrics.StepsRefused.Add(1, TrainingMetrics.Run(s.RunId, s.Method));
            throw;
        }
    }

    private async Task TrainStepCoreAsync(RunSpec s, SampleFeed data, Stopwatch clock, bool globalBatchLoss, Activity? stepSpan)
    {
        var stepClock = Stopwatch.StartNew();
        using var phases = new PhaseClock(s.RunId, s.Method);
        var deadline = StepDeadline(s);
        var samples = await SamplesAsync(data, s, phases);
        var microBatches = RunPlan.MicroBatches(s, step, samples);
        int n = microBatches.Length;
        var members = crew!.Members.ToList();
        var ranges = RunPlan.Ranges(n, members.Count);
        ledger!.Assigned(n);
        ledger.Workers(members.Count);
        int redone = 0;

        byte[]? embeddings = null;
        if (globalBatchLoss)
        {
            phases.Begin("embed");
            // Workers hold contiguous ranges in order, so the embeddings concatenate in step order.
            var parts = new byte[ranges.Length][];
            var todo = ranges.Select((r, i) => (Index: i, Member: members[i])).ToList();
            for (int round = 0; todo.Count > 0; round++)
            {
                var done = await Task.WhenAll(todo.Select(t => CallAsync(t.Member, () => t.Member.Grain.EmbedAsync(RunPlan.Slice(microBatches, ranges[t.Index]), shardMap!, step), deadline)));
                for (int i = 0; i < todo.Count; i++)
                {
                    if (done[i].Ok) parts[todo[i].Index] = done[i].Value!;
                    else if (done[i].Failure is { } e) Rethrow(e); // embedding touches no shard: the failure is the run's own
                }
                var left = todo.Where(t => parts[t.Index] is null).Select(t => t.Index).ToList();
                if (left.Count == 0) break;
                if (round + 1 >= MaxRedoRounds) throw new InvalidOperationException($"step {step}: embeddings still missing after {MaxRedoRounds} rounds");
                var live = await LiveMembersAsync(s);
                redone += left.Sum(i => ranges[i].Count);
                todo = left.Select((i, j) => (i, live[j % live.Count])).ToList();
            }
            embeddings = new byte[parts.Sum(p => p.Length)];
            int at = 0;
            foreach (var part in parts)
            {
                part.CopyTo(embeddings, at);
                at += part.Length;
            }
            phases.End();
        }

        double lr = RunPlan.LearningRate(s, step, plannedSteps), tau = RunPlan.Tau(s, step, plannedSteps);
        var apply = new ApplyRequest(step, n, lr, tau, RunPlan.ProbeLearningRate(s, step, plannedSteps));
        var reports = new Dictionary<int, StepReport>();
        var first = ranges.Select((r, i) => (Range: r, Member: members[i], Only: (int[]?)null)).ToList();
        // One call per worker: it pulls the step's version (the last step's result) when it holds an older one, computes,
        // pushes and vouches for its range; the shard that receives the last word applies the step in that call. No span
        // of its own: the workers' sslo.compute, sslo.push and sslo.commit spans are the step's children.
        phases.Begin("compute", span: false);
        redone += await CollectAsync(s, microBatches, ranges, embeddings, reports, first, deadline, apply);
        phases.End();

        double loss = reports.Values.Sum(r => r.LossSum) / n;
        if (!double.IsFinite(loss))
            throw new NonFiniteStepException($"step {step}: the loss is {loss}; nothing was applied, the parameters are those after step {step - 1}; lower the learning rate (lr)");
        // A worker whose gradient is not finite vouched for nothing: no shard applied the step.
        if (reports.Values.FirstOrDefault(r => r.NonFinite is not null) is { } unsound)
            throw new NonFiniteStepException($"step {step}: {unsound.NonFinite}; lower the learning rate (lr)");
        if (!AppliedEverywhere(reports.Values, ranges)) redone += await ApplyAsync(s, microBatches, ranges, embeddings, reports, apply, deadline, phases);
        ledger.Applied(step, ranges);
        if (s.CheckReplicas)
        {
            // The digests compare the replicas after the step: pull it now rather than with the next step's work.
            phases.Begin("pull");
            await SyncAllAsync(s, step + 1, deadline);
            phases.End();
            var digests = await Task.WhenAll(crew.Members.Select(m => m.Grain.GetStateDigestAsync()));
            if (digests.Distinct().Count() != 1)
                throw new InvalidOperationException($"replicas diverged after step {step}: digests {string.Join(", ", digests)}");
        }
        ledger.Redone(redone);
        step++;
        double seconds = stepClock.Elapsed.TotalSeconds;
        recentStepSeconds.Enqueue(seconds);
        if (recentStepSeconds.Count > 5) recentStepSeconds.Dequeue();
        double avg = clock.Elapsed.TotalSeconds / Math.Max(1, progress.Count - inheritedSteps + 1);
        var reportList = reports.Values.ToList();
        progress.Add(new StepProgress(step, (double)step * s.Batch / data.Size, loss, s.Batch / seconds,
            clock.Elapsed.TotalSeconds, (plannedSteps - step) * avg, lr, tau, reportList.Max(r => r.ComputeSeconds), seconds,
            100.0 * reportList.Sum(r => r.ProbeCorrect) / s.Batch, members.Count, redone, reportList.Max(r => r.DataSeconds),
            reportList.Max(r => r.RssBytes) / (1024.0 * 1024)));
        var p = progress[^1];
        var tags = TrainingMetrics.Run(s.RunId, s.Method);
        TrainingMetrics.Steps.Add(1, tags);
        TrainingMetrics.Images.Add(s.Batch, tags);
        TrainingMetrics.StepDuration.Record(seconds, tags);
        TrainingMetrics.Loss.Record(loss, tags);
        TrainingMetrics.Throughput.Record(p.ImagesPerSec, tags);
        TrainingMetrics.Workers.Record(members.Count, tags);
        if (redone > 0) TrainingMetrics.MicroBatchesRedone.Add(redone, tags);
        phases.Record();
        stepSpan?.SetTag("sslo.loss", loss);
        stepSpan?.SetTag("sslo.workers", members.Count);
        stepSpan?.SetTag("sslo.microbatches.redone", redone);
        // The checkpoint due after this step (if any) is this span's child.
        if (stepSpan is not null && checkpoints is not null) checkpoints.StepTrace = stepSpan.Context;
        NotifyStep(p);
        await LogCurvesAsync(step, new()
        {
            ["train/loss"] = loss, ["train/lr"] = lr, ["train/tau"] = tau,
            ["train/images_per_sec"] = p.ImagesPerSec, ["train/compute_fraction"] = p.ComputeSeconds / p.StepSeconds,
            ["train/data_fraction"] = p.DataSeconds / p.StepSeconds,
            ["train/online_probe_top1"] = p.ProbeTrainTop1, ["train/workers"] = members.Count,
            ["system/worker_rss_mib"] = p.RssMib,
        });
    }

    /// <summary>Whether every shard applied the step in a worker's commit, each over exactly the step's ranges.</summary>
    private bool AppliedEverywhere(IEnumerable<StepReport> reports, MicroBatchRange[] ranges)
    {
        var applied = reports.SelectMany(r => r.Applied ?? []).ToList();
        foreach (var a in applied)
            if (a.Result.Summed.Length > 0 && !a.Result.Summed.SequenceEqual(ranges))
                throw new InvalidOperationException($"step {step}: shard {a.Shard} summed {string.Join(", ", a.Result.Summed)}, the step's ranges are {string.Join(", ", ranges)}");
        return Enumerable.Range(0, shardGrains.Length).All(k => applied.Any(a => a.Shard == k && a.Result.Version == step + 1));
    }

    /// <summary>The coordinator's apply, when the workers' commits did not apply the step everywhere (a worker or shard was
    /// lost, work was redone): every shard checks its sums before any applies, so a refused step leaves every shard as it
    /// was; shards that applied already answer as such. Returns the micro-batches computed again.</summary>
    private async Task<int> ApplyAsync(RunSpec s, MicroBatchWork[] microBatches, MicroBatchRange[] ranges, byte[]? embeddings,
        Dictionary<int, StepReport> reports, ApplyRequest apply, TimeSpan deadline, PhaseClock phases)
    {
        int redone = 0;
        phases.Begin("apply");
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var checks = await Task.WhenAll(shardGrains.Select(g => g.PrepareAsync(apply)));
                if (checks.FirstOrDefault(c => c.Refused is not null) is { } refused)
                    throw new NonFiniteStepException($"step {step}: {refused.Refused}; lower the learning rate (lr)");
                foreach (var c in checks)
                    if (c.Version == step && !c.Summed.SequenceEqual(ranges))
                        throw new InvalidOperationException($"step {step}: a shard summed {string.Join(", ", c.Summed)}, the step's ranges are {string.Join(", ", ranges)}");
                await Task.WhenAll(shardGrains.Select(g => g.ApplyAsync(apply)));
                break;
            }
            catch (Exception e) when (e is not NonFiniteStepException && attempt < 4)
            {
                // A shard lost while preparing or applying: rebuilt from its mirror, it gets the step's ranges again.
                if (!await RecoverShardsAsync(s, e)) throw;
                redone += await CollectAsync(s, microBatches, ranges, embeddings, reports, [], deadline, apply);
            }
        }
        phases.End();
        return redone;
    }

    /// <summary>
    /// Runs <paramref name="work"/>, then asks every shard which ranges reached it and gives what is missing (and the
    /// reports of ranges whose answer was lost) to the live workers, round after round, until every shard holds every
    /// range. Returns the micro-batches computed again.
    /// </summary>
    private async Task<int> CollectAsync(RunSpec s, MicroBatchWork[] microBatches, MicroBatchRange[] ranges, byte[]? embeddings,
        Dictionary<int, StepReport> reports, List<(MicroBatchRange Range, RunWorkers.Member Member, int[]? Only)> work, TimeSpan deadline, ApplyRequest commit)
    {
        int n = microBatches.Length, redone = 0;
        for (int round = 0; ; round++)
        {
            var results = await Task.WhenAll(work.Select(w => CallAsync(w.Member,
                () => w.Member.Grain.RunStepAsync(new StepWork(step, RunPlan.Slice(microBatches, w.Range), shardMap!, embeddings, n, w.Only, commit)), deadline)));
            Exception? failure = null;
            for (int i = 0; i < work.Count; i++)
            {
                if (results[i].Ok) reports.TryAdd(work[i].Range.First, results[i].Value!);
                failure ??= results[i].Failure;
            }
            // A worker that failed while its silo stays up most likely could not reach a shard that was lost.
            if (failure is not null && !await RecoverShardsAsync(s, failure)) Rethrow(failure);
            // Every range reported and every shard applied in a commit: everything arrived, no need to ask the shards.
            if (failure is null && ranges.All(r => reports.ContainsKey(r.First)) && AppliedEverywhere(reports.Values, ranges)) return redone;
            // What reached each shard, by range: a worker lost after some of its chunks arrived left a range in part.
            var received = await ReceivedAsync(s);
            var missing = ranges.Select(r => (Range: r, Shards: Enumerable.Range(0, received.Length)
                    .Where(k => received[k].Version == step && !received[k].Ranges.Contains(r)).ToArray()))
                .Where(m => m.Shards.Length > 0 || !reports.ContainsKey(m.Range.First)).ToList();
            if (missing.Count == 0) return redone;
            if (round + 1 >= MaxRedoRounds)
                throw new InvalidOperationException($"step {step}: micro-batches {string.Join(", ", missing.Select(m => m.Range))} still missing after {MaxRedoRounds} rounds of redone work");
            var live = await LiveMembersAsync(s);
            redone += missing.Sum(m => m.Range.Count);
            // Only the shards that lack a range get it again (none when only the report was lost: its loss is still needed).
            work = missing.Select((m, j) => (m.Range, live[j % live.Count], m.Shards.Length == received.Length ? null : m.Shards)).ToList();
        }
    }

    /// <summary>Every shard's received ranges; a shard lost meanwhile is rebuilt first.</summary>
    private async Task<ReceivedRanges[]> ReceivedAsync(RunSpec s)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var received = await Task.WhenAll(shardGrains.Select(g => g.GetReceivedAsync(step)));
                if (received.All(r => r.Version >= step)) return received;
                // A fresh activation (version -1) answered: its silo's state is gone.
                if (!await RecoverShardsAsync(s, new InvalidOperationException("a parameter shard lost its state")) || attempt >= 4)
                    throw new InvalidOperationException($"step {step}: shard versions {string.Join(", ", received.Select(r => r.Version))} behind the step");
            }
            catch (Exception e) when (attempt < 4 && e is not (NonFiniteStepException or RunRewoundException))
            {
                if (!await RecoverShardsAsync(s, e)) throw;
            }
        }
    }

    /// <summary>Every worker pulls <paramref name="version"/>. A worker lost meanwhile is dropped (the step is applied:
    /// nothing is redone); one that could not reach a lost shard pulls again once the shard is rebuilt.</summary>
    private async Task SyncAllAsync(RunSpec s, long version, TimeSpan deadline)
    {
        var pending = crew!.Members.ToList();
        for (int attempt = 1; pending.Count > 0; attempt++)
        {
            var results = await Task.WhenAll(pending.Select(m => CallAsync(m, async () => { await m.Grain.SyncAsync(shardMap!, version); return true; }, deadline)));
            var failed = pending.Where((_, i) => results[i].Failure is not null).ToList();
            if (failed.Count == 0) return;
            var failure = results.First(r => r.Failure is not null).Failure!;
            if (attempt >= 4 || !await RecoverShardsAsync(s, failure)) Rethrow(failure);
            pending = failed.Where(m => crew.Members.Contains(m)).ToList();
        }
    }

    // The next step's samples, asked for while this step computes (the sample stream is a function of the position, so
    // taking it early changes nothing).
    private (SampleFeed Feed, long Step, Task<int[]> Samples)? nextSamples;

    /// <summary>The step's samples (the "sample" phase: near zero when they were taken ahead during the last step), then
    /// asks for the next step's.</summary>
    private async Task<int[]> SamplesAsync(SampleFeed data, RunSpec s, PhaseClock phases)
    {
        phases.Begin("sample");
        int[]? samples = null;
        if (nextSamples is { } ahead && ahead.Feed == data && ahead.Step == step)
        {
            try { samples = await ahead.Samples.WaitAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception e) { logger.LogInformation("Run {Run}: step {Step}: the samples taken ahead failed ({Message}); asking again", s.RunId, step, e.Message); }
        }
        samples ??= await TakeSamplesAsync(data, s);
        phases.End();
        long next = step + 1;
        var task = data.TakeAsync(next * s.Batch, s.Batch);
        // Observed here: a failure is handled when the next step asks for them.
        _ = task.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        nextSamples = (data, next, task);
        return samples;
    }

    /// <summary>The step's samples; a data shard lost with its silo is activated again elsewhere once membership
    /// has declared the silo dead, so an unreachable one is asked again (for up to a minute).</summary>
    private async Task<int[]> TakeSamplesAsync(SampleFeed data, RunSpec s)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await data.TakeAsync(step * s.Batch, s.Batch).WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e) when ((IsUnreachable(e) || e is TimeoutException) && attempt < 30)
            {
                logger.LogWarning("Run {Run}: step {Step}: a data shard is unreachable ({Message}); asking again", s.RunId, step, RunWorkers.Message(e));
                await Task.Delay(2000);
                await RefreshLayoutAsync();
            }
        }
    }

    /// <summary>How long one worker's share of a step may take: the spec's, else ten times the slowest recent step
    /// (at least a minute; ten minutes before any step is measured, which covers first-call compilation).</summary>
    private TimeSpan StepDeadline(RunSpec s) => TimeSpan.FromSeconds(s.StepDeadlineSeconds > 0 ? s.StepDeadlineSeconds
        : recentStepSeconds.Count == 0 ? 600 : Math.Max(60, 10 * recentStepSeconds.Max()));

    /// <summary>The workers left to redo work; with none, waits at the boundary for new ones (synced to this step).</summary>
    private async Task<List<RunWorkers.Member>> LiveMembersAsync(RunSpec s)
    {
        if (crew!.Members.Count == 0)
            await crew.ReconcileAsync(s, TargetWorkers(s), 1, step, shardMap!, TimeSpan.FromMinutes(10));
        return crew.Members.ToList();
    }

    /// <summary>Calls a worker within the step's deadline. A worker whose call times out, whose silo is unreachable or
    /// has left the cluster is lost (not Ok, no failure); any other failure is returned for the caller to judge (a
    /// shard the worker could not reach, or the run's own error).</summary>
    private async Task<(bool Ok, T? Value, Exception? Failure)> CallAsync<T>(RunWorkers.Member member, Func<Task<T>> call, TimeSpan deadline)
    {
        Exception failure;
        try
        {
            return (true, await call().WaitAsync(deadline), null);
        }
        catch (TimeoutException)
        {
            TrainingMetrics.WorkersLost.Add(1, LostTags("deadline"));
            crew!.Lose(member, step, $"missed the step's deadline of {deadline.TotalSeconds:0} s");
            return (false, default, null);
        }
        catch (Exception e)
        {
            failure = e;
        }
        // A fresh activation answering for the worker: the one holding its replica is gone.
        if (IsUnreachable(failure) || failure.Message.Contains(WorkerErrors.NotInitialised, StringComparison.Ordinal) || !await SiloIsActiveAsync(member.Slot.Silo))
        {
            TrainingMetrics.WorkersLost.Add(1, LostTags("unreachable"));
            crew!.Lose(member, step, RunWorkers.Message(failure));
            return (false, default, null);
        }
        return (false, default, failure);
    }

    private TagList LostTags(string why) => TrainingMetrics.Run(this.GetPrimaryKeyString(), spec?.Method ?? "", "error.type", why);

    private static void Rethrow(Exception e) => System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);

    /// <summary>Orleans' ways of saying the other side is gone: its silo is dead or the connection to it failed.</summary>
    private static bool IsUnreachable(Exception e) => e is SiloUnavailableException or OrleansMessageRejectionException
        || e.GetType().Name.Contains("ConnectionFailed", StringComparison.Ordinal)
        || e.InnerException is { } inner && IsUnreachable(inner);

    private async Task<bool> SiloIsActiveAsync(SiloAddress silo) =>
        (await cluster.ReadAsync(TimeSpan.FromSeconds(30))).Any(s => s.Silo.Equals(silo));
}

/// <summary>A step refused because its loss or its mean gradient is NaN or infinite: nothing of it was applied.</summary>
public sealed class NonFiniteStepException(string message) : Exception(message);

/// <summary>The run went back to a checkpoint (a shard and its mirror were both lost): the step loop goes on from there.</summary>
public sealed class RunRewoundException(long toStep) : Exception($"the run went back to the checkpoint of step {toStep}")
{
    public long ToStep { get; } = toStep;
}
