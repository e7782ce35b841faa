using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Checkpoints;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Grains.Checkpoints;
using SslOrleans.Grains.Placement;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// A parameter shard lost with its silo: a call then reaches a fresh activation elsewhere, which holds nothing. It is
/// configured again and takes the state its mirror (on another silo) holds after the last apply: at the step's
/// version it gets the step's ranges again, one version on it has applied the step already; either way nothing is
/// lost. Only when the mirror is gone too (two silos lost at once, or one silo left) does the run go back to its
/// newest checkpoint that verifies, and those steps count as redone.
/// </summary>
public sealed partial class RunGrain
{
    /// <summary>Rebuilds every shard that lost its state; false when none had (the failure was not a lost shard).</summary>
    private async Task<bool> RecoverShardsAsync(RunSpec s, Exception cause)
    {
        var map = shardMap!;
        var health = new ShardHealth[shardGrains.Length];
        var giveUp = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        await RefreshLayoutAsync();
        for (int k = 0; k < shardGrains.Length; k++)
        {
            while (true)
            {
                try
                {
                    // A shard on a silo that died but is not yet declared dead does not answer: ask again once membership knows.
                    health[k] = await PlacementHint.On(layout!.SiloFor(k), () => shardGrains[k].GetHealthAsync()).WaitAsync(TimeSpan.FromSeconds(20));
                    break;
                }
                catch (Exception e) when ((IsUnreachable(e) || e is TimeoutException) && DateTime.UtcNow < giveUp)
                {
                    await Task.Delay(1000);
                    await RefreshLayoutAsync();
                }
            }
        }
        var lost = Enumerable.Range(0, health.Length).Where(k => !health[k].Configured).ToList();
        if (lost.Count == 0) return false;
        logger.LogWarning(cause, "Run {Run}: step {Step}: parameter shard(s) {Shards} lost their state", s.RunId, step, string.Join(", ", lost));
        foreach (var k in lost)
        {
            await shardGrains[k].ConfigureAsync(new ShardConfig(map.Shards[k], RunPlan.TensorsOf(modelLayout!, map.Shards[k]), s));
            long version;
            try
            {
                version = await shardGrains[k].RestoreFromMirrorAsync();
            }
            catch (Exception e)
            {
                await RewindToCheckpointAsync(s, $"shard {k} was lost with its silo and its mirror holds no copy ({RunWorkers.Message(e)})");
                throw; // not reached: the rewind throws
            }
            if (version != step && version != step + 1)
                await RewindToCheckpointAsync(s, $"shard {k} was lost with its silo and its mirror holds version {version}, not the step's {step}");
            crew!.Events.Add($"step {step}: parameter shard {k} lost with silo {shardSilos.ElementAtOrDefault(k) ?? "?"}, rebuilt from its mirror at version {version} on {health[k].Silo}");
            Diagnostics.TrainingMetrics.ShardsRebuilt.Add(1, Diagnostics.TrainingMetrics.Run(s.RunId, s.Method));
        }
        await RefreshEndpointsAsync();
        await RefreshShardSilosAsync();
        return true;
    }

    /// <summary>
    /// Shards on a silo that is stopping gracefully move at a step boundary: the activation there is dropped, and a new one on
    /// a silo that stays takes the state its mirror holds after the last apply, which is this step's version, so nothing is
    /// redone. Without mirrors (mirror_shards false) they stay, and the stopping silo's loss is recovered as a failure.
    /// </summary>
    private async Task MoveShardsOffLeavingSilosAsync(RunSpec s)
    {
        if (!s.MirrorShards || crew!.LeavingSilos.Count == 0) return;
        var moving = Enumerable.Range(0, shardGrains.Length).Where(k => crew.LeavingSilos.Contains(shardSilos.ElementAtOrDefault(k) ?? "")).ToList();
        if (moving.Count == 0) return;
        var map = shardMap!;
        foreach (var k in moving)
        {
            var from = shardSilos[k];
            await shardGrains[k].LeaveAsync();
            await PlacementHint.On(layout!.SiloFor(k), () => shardGrains[k].ConfigureAsync(new ShardConfig(map.Shards[k], RunPlan.TensorsOf(modelLayout!, map.Shards[k]), s)));
            long version = await shardGrains[k].RestoreFromMirrorAsync();
            if (version != step)
                await RewindToCheckpointAsync(s, $"shard {k} left the stopping silo {from} and its mirror holds version {version}, not the step's {step}");
            var to = (await shardGrains[k].GetHealthAsync()).Silo;
            crew.Events.Add($"step {step}: parameter shard {k} moved off the stopping silo {from} to {to}");
            logger.LogInformation("Run {Run}: step {Step}: parameter shard {Shard} moved off the stopping silo {From} to {To}", s.RunId, step, k, from, to);
        }
        await RefreshEndpointsAsync();
        await RefreshShardSilosAsync();
    }

    /// <summary>Where every shard lives now, for the status's roles.</summary>
    private async Task RefreshShardSilosAsync() =>
        shardSilos = (await Task.WhenAll(shardGrains.Select(g => g.GetHealthAsync()))).Select(h => h.Silo).ToArray();

    /// <summary>Goes back to the newest checkpoint that verifies: every shard loads it, every worker pulls it, and the
    /// ledger forgets the steps after it (they are redone). Throws <see cref="RunRewoundException"/> for the step loop.</summary>
    private async Task RewindToCheckpointAsync(RunSpec s, string why)
    {
        logger.LogWarning("Run {Run}: step {Step}: {Why}; going back to the newest checkpoint", s.RunId, step, why);
        await checkpoints!.DrainAsync();
        var store = checkpoints.Store;
        var point = await Task.Run(() => new CheckpointCatalog(store).FindResumableAsync())
            ?? throw new InvalidOperationException($"step {step}: {why}, and {store.Location} holds no checkpoint to go back to");
        var manifest = ManifestJson.Deserialize(point.Manifest, CheckpointManifests.ManifestName(store, point.Summary.Step));
        var map = shardMap!;
        for (int k = 0; k < shardGrains.Length; k++)
        {
            var health = await shardGrains[k].GetHealthAsync();
            if (!health.Configured)
                await shardGrains[k].ConfigureAsync(new ShardConfig(map.Shards[k], RunPlan.TensorsOf(modelLayout!, map.Shards[k]), s));
            await shardGrains[k].LoadAsync(manifest.Step, manifest.Files.Single(f => f.Name == CheckpointNames.Shard(k)));
        }
        await RefreshEndpointsAsync();
        await RefreshShardSilosAsync();
        var deadline = StepDeadline(s);
        await Task.WhenAll(crew!.Members.ToList().Select(m => CallAsync(m, async () => { await m.Grain.SyncAsync(shardMap!, manifest.Step); return true; }, deadline)));
        crew.Events.Add($"step {step}: {why}; went back to the checkpoint of step {manifest.Step}");
        ledger!.RewindTo(manifest.Step, step);
        progress.RemoveAll(p => p.Step > manifest.Step);
        step = manifest.Step;
        throw new RunRewoundException(step);
    }

    /// <summary>The final checkpoint; a shard lost while it is taken is rebuilt and the checkpoint taken again.</summary>
    private async Task<(string Path, CheckpointManifest Manifest, double ParamL2)> WriteFinalCheckpointAsync(RunSpec s)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await checkpoints!.WriteFinalAsync(step, () => SnapshotAsync(s), PhaseReporter("files"));
            }
            catch (Exception e) when (attempt < 3 && e is not RunRewoundException)
            {
                if (!await RecoverShardsAsync(s, e)) throw;
            }
        }
    }

    /// <summary>Where data shards and rebuilt parameter shards go: over the silos active now.</summary>
    private async Task RefreshLayoutAsync()
    {
        var silos = await cluster.ReadAsync(TimeSpan.FromSeconds(30));
        if (silos.Count > 0) layout = layout! with { Silos = SlotAssignment.Spread(silos.Count, silos) };
    }

    /// <summary>Each shard's tensor data plane endpoint (a rebuilt shard lives on another silo than before).</summary>
    private async Task RefreshEndpointsAsync()
    {
        var endpoints = await Task.WhenAll(shardGrains.Select(g => g.GetDataEndpointAsync()));
        shardMap = shardMap! with { DataEndpoints = endpoints.Any(e => e is not null) ? endpoints : null };
    }
}
