using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Grains.Diagnostics;

namespace SslOrleans.Grains.Runs;

/// <summary>One step, surviving the loss of workers: the step's micro-batches are cut into one contiguous range per
/// worker; a range whose worker fails, misses the step's deadline or whose push did not reach every shard is
/// computed again by the surviving workers, in the same step, until every shard holds every range exactly once.</summary>
public sealed partial class RunGrain
{
    /// <summary>Rounds of redone work one step may take before the run gives up.</summary>
    private const int MaxRedoRounds = 8;

    private async Task TrainStepAsync(RunSpec s, IParameterShardGrain[] shards, ShardMap map, SampleFeed data, Stopwatch clock, bool globalBatchLoss)
    {
        var stepClock = Stopwatch.StartNew();
        var deadline = StepDeadline(s);
        var samples = await TakeSamplesAsync(data, s);
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
            // Workers hold contiguous ranges in order, so the embeddings concatenate in step order.
            var parts = new byte[ranges.Length][];
            var todo = ranges.Select((r, i) => (Index: i, Member: members[i])).ToList();
            for (int round = 0; todo.Count > 0; round++)
            {
                var done = await Task.WhenAll(todo.Select(t => CallAsync(t.Member, () => t.Member.Grain.EmbedAsync(RunPlan.Slice(microBatches, ranges[t.Index])), deadline)));
                for (int i = 0; i < todo.Count; i++)
                    if (done[i].Ok) parts[todo[i].Index] = done[i].Value!;
                var left = todo.Where(t => parts[t.Index] is null).Select(t => t.Index).ToList();
                if (left.Count == 0) break;
                var live = await LiveMembersAsync(s, round, map);
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
        }

        var reports = new Dictionary<int, StepReport>();
        var work = ranges.Select((r, i) => (Range: r, Member: members[i], Only: (int[]?)null)).ToList();
        for (int round = 0; ; round++)
        {
            var results = await Task.WhenAll(work.Select(w => CallAsync(w.Member,
                () => w.Member.Grain.RunStepAsync(new StepWork(step, RunPlan.Slice(microBatches, w.Range), map, embeddings, n, w.Only)), deadline)));
            for (int i = 0; i < work.Count; i++)
                if (results[i].Ok) reports.TryAdd(work[i].Range.First, results[i].Value!);
            // What reached each shard, by range: a worker lost after some of its chunks arrived left a range in part.
            var received = await Task.WhenAll(shards.Select(g => g.GetReceivedAsync(step)));
            var missing = ranges.Select(r => (Range: r, Shards: Enumerable.Range(0, shards.Length).Where(k => !received[k].Contains(r)).ToArray()))
                .Where(m => m.Shards.Length > 0 || !reports.ContainsKey(m.Range.First)).ToList();
            if (missing.Count == 0) break;
            if (round + 1 >= MaxRedoRounds)
                throw new InvalidOperationException($"step {step}: micro-batches {string.Join(", ", missing.Select(m => m.Range))} still missing after {MaxRedoRounds} rounds of redone work");
            var live = await LiveMembersAsync(s, round, map);
            redone += missing.Sum(m => m.Range.Count);
            // Only the shards that lack a range get it again (none when only the report was lost: the loss is still needed).
            work = missing.Select((m, j) => (m.Range, live[j % live.Count], m.Shards.Length == shards.Length ? null : m.Shards)).ToList();
        }
        ledger.Redone(redone);

        double lr = RunPlan.LearningRate(s, step, plannedSteps), tau = RunPlan.Tau(s, step, plannedSteps);
        double loss = reports.Values.Sum(r => r.LossSum) / n;
        if (!double.IsFinite(loss))
            throw new NonFiniteStepException($"step {step}: the loss is {loss}; nothing was applied, the parameters are those after step {step - 1}; lower the learning rate (lr)");
        var apply = new ApplyRequest(step, n, lr, tau, RunPlan.ProbeLearningRate(s, step, plannedSteps));
        // Every shard checks its sums before any applies: a refused step leaves every shard as it was.
        var checks = await Task.WhenAll(shards.Select(g => g.PrepareAsync(apply)));
        if (checks.FirstOrDefault(c => c.Refused is not null) is { } refused)
            throw new NonFiniteStepException($"step {step}: {refused.Refused}; lower the learning rate (lr)");
        foreach (var c in checks)
            if (c.Version == step && !c.Summed.SequenceEqual(ranges))
                throw new InvalidOperationException($"step {step}: a shard summed {string.Join(", ", c.Summed)}, the step's ranges are {string.Join(", ", ranges)}");
        await Task.WhenAll(shards.Select(g => g.ApplyAsync(apply)));
        ledger.Applied(step, ranges);
        // A worker lost while pulling is dropped; the step is applied, so nothing is redone.
        var synced = await Task.WhenAll(crew.Members.ToList().Select(m => CallAsync(m, async () => { await m.Grain.SyncAsync(map, step + 1); return true; }, deadline)));
        if (s.CheckReplicas)
        {
            var digests = await Task.WhenAll(crew.Members.Select(m => m.Grain.GetStateDigestAsync()));
            if (digests.Distinct().Count() != 1)
                throw new InvalidOperationException($"replicas diverged after step {step}: digests {string.Join(", ", digests)}");
        }
        step++;
        double seconds = stepClock.Elapsed.TotalSeconds;
        recentStepSeconds.Enqueue(seconds);
        if (recentStepSeconds.Count > 5) recentStepSeconds.Dequeue();
        double avg = clock.Elapsed.TotalSeconds / Math.Max(1, progress.Count + 1);
        var reportList = reports.Values.ToList();
        progress.Add(new StepProgress(step, (double)step * s.Batch / data.Size, loss, s.Batch / seconds,
            clock.Elapsed.TotalSeconds, (plannedSteps - step) * avg, lr, tau, reportList.Max(r => r.ComputeSeconds), seconds,
            100.0 * reportList.Sum(r => r.ProbeCorrect) / s.Batch, members.Count, redone));
        var tags = TrainingMetrics.Run(s.RunId, s.Method);
        TrainingMetrics.Steps.Add(1, tags);
        TrainingMetrics.Images.Add(s.Batch, tags);
        TrainingMetrics.StepDuration.Record(seconds, tags);
        TrainingMetrics.Loss.Record(loss, tags);
        TrainingMetrics.BytesPushed.Add(reportList.Sum(r => r.BytesPushed), tags);
        if (redone > 0) TrainingMetrics.MicroBatchesRedone.Add(redone, tags);
        var p = progress[^1];
        await LogCurvesAsync(step, new()
        {
            ["train/loss"] = loss, ["train/lr"] = lr, ["train/tau"] = tau,
            ["train/images_per_sec"] = p.ImagesPerSec, ["train/compute_fraction"] = p.ComputeSeconds / p.StepSeconds,
            ["train/online_probe_top1"] = p.ProbeTrainTop1, ["train/workers"] = members.Count,
        });
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
                var silos = await cluster.ReadAsync(TimeSpan.FromSeconds(30));
                layout = layout! with { Silos = Placement.SlotAssignment.Spread(silos.Count, silos) };
            }
        }
    }

    /// <summary>How long one worker's share of a step may take: the spec's, else ten times the slowest recent step
    /// (at least a minute; ten minutes before any step is measured, which covers first-call compilation).</summary>
    private TimeSpan StepDeadline(RunSpec s) => TimeSpan.FromSeconds(s.StepDeadlineSeconds > 0 ? s.StepDeadlineSeconds
        : recentStepSeconds.Count == 0 ? 600 : Math.Max(60, 10 * recentStepSeconds.Max()));

    /// <summary>The workers left to redo work; with none, waits at the boundary for new ones (synced to this step).</summary>
    private async Task<List<RunWorkers.Member>> LiveMembersAsync(RunSpec s, int round, ShardMap map)
    {
        if (crew!.Members.Count == 0)
            await crew.ReconcileAsync(s, TargetWorkers(s), 1, step, map, TimeSpan.FromMinutes(10));
        return crew.Members.ToList();
    }

    /// <summary>Calls a worker within the step's deadline. A worker whose call times out, whose silo is unreachable or
    /// has left the cluster is lost (false); any other failure is the run's own and is thrown.</summary>
    private async Task<(bool Ok, T? Value)> CallAsync<T>(RunWorkers.Member member, Func<Task<T>> call, TimeSpan deadline)
    {
        Exception failure;
        try
        {
            return (true, await call().WaitAsync(deadline));
        }
        catch (TimeoutException)
        {
            crew!.Lose(member, step, $"missed the step's deadline of {deadline.TotalSeconds:0} s");
            return (false, default);
        }
        catch (Exception e)
        {
            failure = e;
        }
        if (IsUnreachable(failure) || !await SiloIsActiveAsync(member.Slot.Silo))
        {
            crew!.Lose(member, step, RunWorkers.Message(failure));
            return (false, default);
        }
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return default;
    }

    /// <summary>Orleans' ways of saying the other side is gone: its silo is dead or the connection to it failed.</summary>
    private static bool IsUnreachable(Exception e) => e is SiloUnavailableException or OrleansMessageRejectionException
        || e.GetType().Name.Contains("ConnectionFailed", StringComparison.Ordinal)
        || e.InnerException is { } inner && IsUnreachable(inner);

    private async Task<bool> SiloIsActiveAsync(SiloAddress silo) =>
        (await cluster.ReadAsync(TimeSpan.FromSeconds(30))).Any(s => s.Silo.Equals(silo));
}

/// <summary>A step refused because its loss or its mean gradient is NaN or infinite: nothing of it was applied.</summary>
public sealed class NonFiniteStepException(string message) : Exception(message);
