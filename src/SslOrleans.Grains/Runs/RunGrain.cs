using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Checkpoints;
using SslOrleans.Abstractions.Data;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Grains.Checkpoints;
using SslOrleans.Grains.Diagnostics;
using SslOrleans.Grains.Data;
using SslOrleans.Grains.Placement;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// The coordinator of one run (key: run id). Drives synchronous steps: samples from the data shards,
/// micro-batches to the workers, apply on the parameter shards, pull on the workers; then checkpoints
/// and the kNN evaluation. The loop runs on the grain's own scheduler and only awaits other grains.
/// </summary>
public sealed partial class RunGrain(ILogger<RunGrain> logger, ICheckpointStoreFactory stores, IDeviceSlotDirectory cluster, Storage.Data.BlobFolderCache blobFolders,
    [PersistentState("run", RunRecord.StorageName)] IPersistentState<RunRecord> record, ILocalSiloDetails here, RunLimits limits) : Grain, IRunGrain
{
    /// <summary>Room for a message's envelope beside a tensor chunk of chunk_bytes.</summary>
    public const int MessageEnvelopeBytes = 64 << 10;

    private RunSpec? spec;
    private RunLayout? layout;
    private RunState state = RunState.Pending;
    private string phase = "pending";
    private PhaseProgress? phaseProgress;
    private DateTimeOffset? startedAt;
    private long step;
    private long plannedSteps;
    private int trainCount;
    private string? error;
    private RunResult? result;
    private bool stopRequested;
    private readonly List<StepProgress> progress = [];
    // Steps of progress that a predecessor finished (kept from the record at a takeover), not timed by this activation.
    private int inheritedSteps;
    private Core.Diagnostics.TensorBoardLog? curves;
    private RunCheckpoints? checkpoints;
    private RunWorkers? crew;
    private SampleLedger? ledger;
    private int? scaleTarget;
    private readonly Queue<double> recentStepSeconds = new();
    private ShardMap? shardMap;
    private IParameterShardGrain[] shardGrains = [];
    private ModelLayoutInfo? modelLayout;
    // Where each parameter shard lives (placement at configuration, then as a rebuilt shard reports it).
    private string[] shardSilos = [];

    public async Task<RunStatus> StartAsync(RunSpec runSpec)
    {
        if (state is RunState.Running or RunState.Evaluating)
            throw new InvalidOperationException($"run '{this.GetPrimaryKeyString()}' is already {state.ToString().ToLowerInvariant()}");
        RunSpecValidator.ThrowIfInvalid(runSpec, SiloCatalog.Current);
        runSpec = RunPlan.WithMethodDefaults(runSpec);
        // This silo's limits and allowed locations, before anything is read or written.
        limits.CheckSpec(runSpec);
        // Reads the tokenizer's files and builds small models to count the parameters: off the grain's scheduler.
        if (!runSpec.Resume)
        {
            var local = await RunSpecStorage.LocalizeAsync(blobFolders, runSpec);
            await Task.Run(() =>
            {
                RunSpecOptions.CheckRequirements(local);
                limits.CheckModel(local);
            });
        }
        if (runSpec.RunId != this.GetPrimaryKeyString())
            throw new ArgumentException($"run_id '{runSpec.RunId}' does not match the run grain '{this.GetPrimaryKeyString()}'");
        if (!runSpec.Resume && await Task.Run(() => stores.Open(runSpec.Out).ReadLatestManifestAsync()) is { } existing)
            throw new ArgumentException($"out: {runSpec.Out} already holds run '{existing.RunId}' at step {existing.Step}; pass --resume to continue it or choose another --out");
        layout = await PlaceAsync(runSpec);
        spec = runSpec;
        state = RunState.Running;
        Phase = "starting";
        startedAt = DateTimeOffset.UtcNow;
        step = 0;
        plannedSteps = 0;
        error = null;
        result = null;
        stopRequested = false;
        scaleTarget = null;
        crew = null;
        ledger = null;
        recentStepSeconds.Clear();
        progress.Clear();
        inheritedSteps = 0;
        record.State = new RunRecord();
        await PersistAsync();
        await GrainFactory.GetGrain<IRunRegistryGrain>(0).AddAsync(runSpec.RunId);
        _ = RunLoopAsync(); // continues on this grain's scheduler between other calls
        return await GetStatusAsync();
    }

    public Task<RunStatus> GetStatusAsync() => Task.FromResult(Status());

    private RunStatus Status() => new(
        this.GetPrimaryKeyString(), state, step, plannedSteps, phase, progress.Count > 0 ? progress[^1] : null, error, result,
        ledger?.Totals, crew?.Members.Count ?? 0, Roles(), spec?.Method, spec?.Backbone, phaseProgress, startedAt, spec?.Out);

    /// <summary>Which silo hosts what of the run now (the chaos harness aims its kills with it).</summary>
    private string[] Roles() =>
    [
        $"coordinator {here.SiloAddress}",
        .. crew?.Members.Select(m => $"worker {m.Number} {m.Slot.Silo}") ?? [],
        .. shardSilos.Select((silo, k) => $"shard {k} {silo}"),
    ];

    public Task<RunStatus> ScaleAsync(int workers)
    {
        var s = spec ?? throw new InvalidOperationException($"run '{this.GetPrimaryKeyString()}' has not started");
        if (state is not (RunState.Running or RunState.Pending))
            throw new InvalidOperationException($"run '{s.RunId}' is {state.ToString().ToLowerInvariant()}: only a running run scales");
        int most = s.Batch / s.MicroBatch;
        if (workers < 1 || workers > most)
            throw new ArgumentException($"workers: {workers}: must be between 1 and batch / micro_batch = {most}, so that every worker gets a micro-batch");
        scaleTarget = workers;
        logger.LogInformation("Run {Run}: scaled to {Workers} workers from the next step boundary", s.RunId, workers);
        return GetStatusAsync();
    }

    /// <summary>The workers the run aims for: the last scale request, else max_workers (workers unless elastic).</summary>
    private int TargetWorkers(RunSpec s) => scaleTarget ?? s.MaxWorkersOrDefault;

    public Task ReleaseSiloAsync(string silo)
    {
        if (crew is { } c && c.LeavingSilos.Add(silo))
            logger.LogInformation("Run {Run}: silo {Silo} is stopping; its workers are let go after their step", spec?.RunId, silo);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StepProgress>> GetProgressAsync(long afterStep) =>
        Task.FromResult<IReadOnlyList<StepProgress>>(progress.Where(p => p.Step > afterStep).Take(1000).ToList());

    public Task StopAsync()
    {
        stopRequested = true;
        return Task.CompletedTask;
    }

    /// <summary>Where the run's grains go: each worker on its own device slot, shards and data shards over all
    /// silos. Refuses, before anything starts, more workers than slots and chunks that a silo's message limit refuses.</summary>
    private async Task<RunLayout> PlaceAsync(RunSpec s)
    {
        var silos = await cluster.ReadAsync(TimeSpan.FromSeconds(30));
        var (smallest, limit) = SlotAssignment.SmallestMessageLimit(silos);
        if (s.ChunkBytes > limit - MessageEnvelopeBytes)
            throw new ArgumentException($"chunk_bytes {s.ChunkBytes} does not fit the message body limit of silo {smallest}: " +
                $"SslTraining:MaxMessageBodySize is {limit} bytes there, and a chunk needs {MessageEnvelopeBytes} more for its envelope; " +
                "lower chunk_bytes or raise SslTraining:MaxMessageBodySize on every silo and client");
        // Slots held by other running runs are not offered; the register refuses a slot taken since this read.
        var leases = GrainFactory.GetGrain<IDeviceSlotLeaseGrain>(0);
        var workers = SlotAssignment.Assign(s.Workers, silos, await leases.HeldAsync(s.RunId));
        await leases.LeaseAsync(s.RunId, workers.Select(w => SlotAssignment.Name(w.Silo, w.SlotIndex)).ToArray());
        return new RunLayout(workers, SlotAssignment.Spread(silos.Count, silos));
    }

    /// <summary>A run whose record says it is running, activated here because its coordinator's silo was lost (the
    /// run registry wakes it): it goes on from its record with the workers and shards that survived.</summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (record.RecordExists && record.State is { Spec: { } saved, State: RunState.Running or RunState.Evaluating } r)
        {
            spec = saved;
            startedAt = r.StartedAt;
            state = RunState.Running;
            Phase = "taking over (the coordinator's silo was lost)";
            (step, plannedSteps, scaleTarget, stopRequested) = (r.Step, r.PlannedSteps, r.ScaleTarget, r.StopRequested);
            progress.AddRange(r.RecentSteps.Where(p => p.Step <= r.Step));
            inheritedSteps = progress.Count;
            logger.LogWarning("Run {Run}: taking over at step {Step} on {Silo}", saved.RunId, r.Step, here.SiloAddress);
            _ = RunLoopAsync(takeover: true);
        }
        else if (record.RecordExists && record.State.Spec is { } ended)
        {
            (spec, state, step, plannedSteps, error, result) = (ended, record.State.State, record.State.Step, record.State.PlannedSteps, record.State.Error, record.State.Result);
            startedAt = record.State.StartedAt;
            Phase = state.ToString().ToLowerInvariant();
        }
        return Task.CompletedTask;
    }

    /// <summary>Writes the run's record: what a coordinator on another silo needs to go on.</summary>
    private async Task PersistAsync()
    {
        var r = record.State;
        r.Spec = spec;
        r.State = state;
        r.Step = step;
        r.PlannedSteps = plannedSteps;
        r.Error = error;
        r.Result = result;
        r.ScaleTarget = scaleTarget;
        r.StartedAt = startedAt;
        r.RecentSteps = progress.TakeLast(RunRecord.RecentStepsKept).ToList();
        r.StopRequested = stopRequested;
        if (crew is not null)
        {
            r.NextWorkerNumber = crew.NextNumber;
            r.Workers = crew.ToRecord();
            r.Events = crew.Events.TakeLast(200).ToList();
        }
        if (ledger is not null) r.Ledger = ledger.Totals;
        r.ShardSilos = shardSilos;
        await record.WriteStateAsync();
    }

    private async Task RunLoopAsync(bool takeover = false)
    {
        var s = spec!;
        crew = new RunWorkers(GrainFactory, cluster, logger, s.RunId);
        ledger = new SampleLedger(s.Batch, s.MicroBatch);
        shardMap = null;
        // The run's end is made known (state, phase, watchers) only after its grains are released and its record
        // written: a client that stops the embedded cluster at "completed" must not cut those short.
        RunState? ending = null;
        try
        {
            DelayDeactivation(TimeSpan.FromDays(7));
            var store = stores.Open(s.Out);
            // TensorBoard's event files are local: beside the checkpoints of a folder, in the temporary folder for blob storage.
            curves = new Core.Diagnostics.TensorBoardLog(store.Location.IsBlob
                ? Path.Combine(Path.GetTempPath(), "sslo-tensorboard", s.RunId) : store.Location.LocalPath("tensorboard"));
            checkpoints = new RunCheckpoints(logger, store, s);
            CheckpointManifest? resumeFrom = null;
            if (s.Resume && !takeover)
            {
                Phase = "finding the newest checkpoint that verifies";
                var point = await Task.Run(() => new CheckpointCatalog(store).FindResumableAsync())
                    ?? throw new InvalidOperationException($"resume: {store.Location} holds no checkpoint to resume from (none is complete and verifies)");
                foreach (var note in point.Notes) checkpoints.Warn($"resume: {note}");
                resumeFrom = ManifestJson.Deserialize(point.Manifest, CheckpointManifests.ManifestName(store, point.Summary.Step));
                s = spec = RunPlan.WithMethodDefaults(RunPlan.Resumed(resumeFrom.Spec, s));
                checkpoints = new RunCheckpoints(logger, store, s, checkpoints.Warnings);
                checkpoints.StartFrom(resumeFrom);
            }

            if (takeover) await AdoptWorkersAsync(s);
            else
            {
                Phase = "initialising workers";
                await crew.StartAsync(s, layout!.Workers);
            }
            var placed = layout!;
            var first = crew.Members[0].Ready;
            var model = first.Layout;
            modelLayout = model;
            var map = shardMap = RunPlan.Shards(s, model);
            var shards = shardGrains = map.Shards.Select(r => GrainFactory.GetGrain<IParameterShardGrain>(map.ShardKey(r.Index))).ToArray();
            if (!takeover)
                await Task.WhenAll(shards.Select((g, k) => PlacementHint.On(placed.SiloFor(k),
                    () => g.ConfigureAsync(new ShardConfig(map.Shards[k], RunPlan.TensorsOf(model, map.Shards[k]), s)))));
            // Where each shard landed: chunks to shards on other silos take the tensor data plane.
            if (takeover) shardSilos = record.State.ShardSilos;
            await RefreshEndpointsAsync();
            if (!takeover) await RefreshShardSilosAsync();
            trainCount = first.TrainCount;
            // Data shards are stateless: one lost with its silo is activated again on a silo of the current layout.
            var data = new SampleFeed(GrainFactory, s, trainCount, k => layout!.SiloFor(k));

            if (takeover) await TakeOverShardsAsync(s);
            else if (resumeFrom is not null)
            {
                Phase = $"loading {CheckpointNames.Folder(resumeFrom.Step)}";
                await Task.WhenAll(shards.Select((g, k) => g.LoadAsync(resumeFrom.Step, resumeFrom.Files.Single(f => f.Name == CheckpointNames.Shard(k)))));
                step = resumeFrom.Step;
                plannedSteps = resumeFrom.PlannedSteps;
            }
            else
            {
                await crew.Members[0].Grain.PushInitialStateAsync(shardMap);
                plannedSteps = await PlanStepsAsync(s, Workers(), data);
            }
            if (!takeover) await Task.WhenAll(crew.Members.Select(m => m.Grain.SyncAsync(shardMap, step)));
            await PersistAsync();

            var clock = Stopwatch.StartNew();
            double? budget = s.Minutes * 60;
            long stepsThisRun = 0;
            // A coordinator that took over keeps the steps its predecessor planned.
            if (takeover) budget = null;
            long replanAt = budget is not null && resumeFrom is null && !takeover ? Math.Max(5, plannedSteps / 20) : -1;
            double firstStepEnd = 0;
            Phase = "training";
            string? refused = null;
            while (step < plannedSteps && !stopRequested && (budget is null || clock.Elapsed.TotalSeconds < budget))
            {
                // The step boundary: silos that left are dropped, free slots taken up to the target, joined workers admitted.
                var silos = await crew.ReconcileAsync(s, TargetWorkers(s), s.MinWorkersOrDefault, step, shardMap, TimeSpan.FromMinutes(10));
                layout = layout! with { Silos = SlotAssignment.Spread(silos.Count, silos) };
                await MoveShardsOffLeavingSilosAsync(s);
                try
                {
                    await TrainStepAsync(s, data, clock, first.GlobalBatchLoss);
                }
                catch (NonFiniteStepException e)
                {
                    // Nothing of the step was applied: the state is good, and is kept below as the run's last checkpoint.
                    refused = e.Message;
                    break;
                }
                catch (RunRewoundException)
                {
                    continue; // from the checkpoint's step
                }
                stepsThisRun++;
                await PersistAsync();
                if (stepsThisRun == 1) firstStepEnd = clock.Elapsed.TotalSeconds;
                if (stepsThisRun == replanAt)
                {
                    // The pre-training timing of one worker's share misses the exchange and warm-up effects:
                    // re-plan once from measured steps (the first excluded) so the schedule ends with the budget.
                    double perStep = (clock.Elapsed.TotalSeconds - firstStepEnd) / (stepsThisRun - 1);
                    plannedSteps = Math.Max(step + 1, step + (long)((budget!.Value - clock.Elapsed.TotalSeconds) / perStep));
                }
                if (s.StopAfter is { } n && stepsThisRun >= n) stopRequested = true;
                if (step < plannedSteps && !stopRequested && checkpoints.Due(step))
                {
                    try
                    {
                        await checkpoints.BeginAsync(step, () => SnapshotAsync(s));
                    }
                    catch (Exception e) when (e is not RunRewoundException)
                    {
                        // A shard or worker lost while the copies were taken: the next checkpoint takes this one's place.
                        checkpoints.Warn($"checkpoint of step {step} not taken: {RunWorkers.Message(e)}");
                        try { await RecoverShardsAsync(s, e); }
                        catch (RunRewoundException) { continue; }
                    }
                }
            }
            double trainSeconds = clock.Elapsed.TotalSeconds;

            Phase = "checkpointing";
            var (manifestPath, manifest, paramL2) = await WriteFinalCheckpointAsync(s);
            if (refused is not null)
                throw new NonFiniteStepException($"{refused}; the last good state is checkpointed in {manifestPath} (resume from it with --resume)");
            var finished = !stopRequested || step >= plannedSteps;

            double? knn = null, knnInit = null, probeTop1 = null;
            var evalClock = Stopwatch.StartNew();
            // kNN and the probe need labels and a test split: an unlabelled folder (or one without test/) trains only.
            if (finished && s.Evaluate && first.Classes > 0 && first.TestCount > 0)
            {
                state = RunState.Evaluating;
                Phase = "kNN of the pretrained backbone";
                knn = await KnnEvaluation.Top1Async(s, Workers(), first, initial: false, PhaseReporter("images"));
                Phase = "kNN of the initial backbone";
                knnInit = await KnnEvaluation.Top1Async(s, Workers(), first, initial: true, PhaseReporter("images"));
                Phase = "online probe on the test split";
                probeTop1 = await ProbeTop1Async(Workers(), first.TestCount);
                // The scores belong to the checkpoint: rewrite its manifest (same files) with them.
                await checkpoints.AddMetricsAsync(new Dictionary<string, double>
                {
                    ["knn_top1"] = knn.Value, ["knn_top1_init"] = knnInit.Value, ["online_probe_top1"] = probeTop1.Value,
                });
                await LogCurvesAsync(step, new() { ["eval/knn_top1"] = knn.Value, ["eval/knn_top1_init"] = knnInit.Value, ["eval/online_probe_top1"] = probeTop1.Value });
            }
            var imagesPerSec = progress.Count == 0 ? 0 : progress.Count * (double)s.Batch / progress.Sum(p => p.StepSeconds);
            ending = finished ? RunState.Completed : RunState.Stopped;
            var totals = ledger.Totals;
            result = new RunResult(s.Method, step, (double)step * s.Batch / trainCount, imagesPerSec,
                progress.Count > 0 ? progress[0].Loss : double.NaN, progress.Count > 0 ? progress[^1].Loss : double.NaN,
                knn, knnInit, paramL2, manifestPath, crew.Members.Count, trainSeconds, evalClock.Elapsed.TotalSeconds, ending.Value.ToString().ToLowerInvariant(),
                progress.Sum(p => p.ComputeSeconds), probeTop1,
                crew.SilosUsed, crew.Members.Select(m => m.Placement).ToArray(),
                crew.Members.Select(m => m.Ready.Numerics).ToArray(), checkpoints.Warnings.Concat(crew.Events).ToArray(), checkpoints.Committed, checkpoints.BlockedSeconds,
                totals.MicrobatchesCommitted, totals.MicrobatchesRedone, totals.SamplesLost, totals.SamplesDoubled, totals.WorkersMax, totals.StepsRedone,
                progress.Sum(p => p.DataSeconds));
            logger.LogInformation("Run {Run} {State} at step {Step}: {Result}", s.RunId, ending, step, result);
        }
        catch (Exception e)
        {
            ending = RunState.Failed;
            error = RunWorkers.Message(e);
            logger.LogError(e, "Run {Run} failed at step {Step}", s.RunId, step);
        }
        finally
        {
            // A checkpoint still uploading when the run fails may yet commit: let it, before the shards go.
            if (checkpoints is not null) await checkpoints.DrainAsync();
            await ReleaseAsync(shardMap);
            if (ending is { } end) state = end;
            try
            {
                await PersistAsync();
                await GrainFactory.GetGrain<IRunRegistryGrain>(0).RemoveAsync(this.GetPrimaryKeyString());
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Run {Run}: writing its end to grain storage failed", spec?.RunId);
            }
            if (ending is { } ended) Phase = ended.ToString().ToLowerInvariant();
        }
    }

    /// <summary>A coordinator taking over: the workers still initialised on live silos stay; with none, new ones start
    /// on free slots. The slots the run holds are leased again (the register may have lost them with its silo).</summary>
    private async Task AdoptWorkersAsync(RunSpec s)
    {
        Phase = "taking over: finding the surviving workers";
        var r = record.State;
        crew!.NextNumber = r.NextWorkerNumber;
        crew.Events.AddRange(r.Events);
        ledger!.Restore(r.Ledger ?? new SampleLedgerTotals(0, 0, 0, 0, 0, 0, 0), r.Step);
        var silos = await cluster.ReadAsync(TimeSpan.FromSeconds(30));
        var active = silos.Select(x => x.Silo).ToHashSet();
        await crew.AdoptAsync(r.Workers.Where(w => active.Contains(w.Silo)), step);
        var leases = GrainFactory.GetGrain<IDeviceSlotLeaseGrain>(0);
        if (crew.Members.Count == 0)
        {
            var slots = SlotAssignment.Assign(Math.Max(1, s.MinWorkersOrDefault), silos, await leases.HeldAsync(s.RunId));
            await crew.StartAsync(s, slots);
        }
        await leases.LeaseAsync(s.RunId, crew.ToRecord().Select(w => SlotAssignment.Name(w.Silo, w.SlotIndex)).ToArray());
        layout = new RunLayout(crew.Members.Select(m => m.Slot).ToArray(), SlotAssignment.Spread(silos.Count, silos));
        record.State.Takeovers++;
        crew.Events.Add($"step {step}: a new coordinator took the run over on {here.SiloAddress} with {crew.Members.Count} surviving worker(s)");
    }

    /// <summary>A coordinator taking over: shards lost meanwhile are rebuilt; if every shard applied the step the lost
    /// coordinator was in, the run is one step further; the ranges that reached shards still at the step are dropped
    /// (this coordinator cuts the step anew), and every worker pulls the step's state.</summary>
    private async Task TakeOverShardsAsync(RunSpec s)
    {
        Phase = "taking over: checking the parameter shards";
        try
        {
            await RecoverShardsAsync(s, new InvalidOperationException("the coordinator was lost"));
            var versions = await Task.WhenAll(shardGrains.Select(g => g.GetHealthAsync()));
            if (versions.All(h => h.Version == step + 1))
            {
                // The step was applied everywhere (its workers' commits) but the lost coordinator did not live to record it:
                // it is recorded now, with the loss its workers gave the shards, so a watcher sees every step once.
                ledger!.Applied(step, [new Abstractions.Shards.MicroBatchRange(0, s.Batch / s.MicroBatch)]);
                RecordAdoptedStep(s, versions.Select(h => h.LastStepLoss).FirstOrDefault(l => l is not null) ?? double.NaN);
                step++;
            }
            else if (versions.Any(h => h.Version < step || h.Version > step + 1))
                await RewindToCheckpointAsync(s, $"shard versions {string.Join(", ", versions.Select(h => h.Version))} do not fit the recorded step {step}");
        }
        catch (RunRewoundException)
        {
            // The shards and workers hold the checkpoint's state now.
        }
        await Task.WhenAll(shardGrains.Select(g => g.ResetStepAsync(step)));
        await RefreshShardSilosAsync();
        var health = await Task.WhenAll(shardGrains.Select(g => g.GetHealthAsync()));
        // With some shards a step ahead, the workers still hold the step's state, which the others need.
        if (health.All(h => h.Version == step)) await SyncAllAsync(s, step, StepDeadline(s));
    }

    /// <summary>Progress for step <c>step</c>, applied by its workers' commits under a lost coordinator: its loss as the
    /// shards kept it (NaN when a rebuilt shard did not), its schedule's lr and τ; no timings (nobody timed it).</summary>
    private void RecordAdoptedStep(RunSpec s, double loss)
    {
        var last = progress.Count > 0 ? progress[^1] : null;
        progress.Add(new StepProgress(step + 1, (double)(step + 1) * s.Batch / trainCount, loss, 0, last?.ElapsedSeconds ?? 0, null,
            RunPlan.LearningRate(s, step, plannedSteps), RunPlan.Tau(s, step, plannedSteps), 0, 0, double.NaN, crew!.Members.Count));
        NotifyStep(progress[^1]);
    }

    private IWorkerGrain[] Workers() => crew!.Members.Select(m => m.Grain).ToArray();

    /// <summary>Test-split top-1 of the online probe, the split cut into one contiguous block per worker.</summary>
    private static async Task<double> ProbeTop1Async(IWorkerGrain[] workers, int testCount)
    {
        var correct = await Task.WhenAll(workers.Select((w, i) =>
        {
            int start = i * testCount / workers.Length, end = (i + 1) * testCount / workers.Length;
            return w.ProbeCorrectAsync(start, end - start);
        }));
        return 100.0 * correct.Sum() / testCount;
    }

    // File IO of the event log stays off the grain scheduler.
    private Task LogCurvesAsync(long atStep, Dictionary<string, double> scalars) =>
        curves is { } log ? Task.Run(() => log.Record(atStep, scalars)) : Task.CompletedTask;

    /// <summary>Steps from the budget: given, from epochs, or from minutes by timing one worker's share of a step.</summary>
    private async Task<long> PlanStepsAsync(RunSpec s, IWorkerGrain[] workers, SampleFeed data)
    {
        if (s.Steps is { } steps) return steps;
        if (s.Minutes is not { } minutes) return (long)Math.Ceiling((s.Epochs ?? 1.0) * trainCount / s.Batch);
        Phase = "timing a step";
        var share = RunPlan.Assign(RunPlan.MicroBatches(s, 0, await data.TakeAsync(0, s.Batch)), workers.Length);
        // The first call on each worker allocates and JIT-compiles: warm every worker up, then time.
        await Task.WhenAll(workers.Select((w, i) => w.TimeMicroBatchesAsync(share[i])));
        double seconds = (await Task.WhenAll(workers.Select((w, i) => w.TimeMicroBatchesAsync(share[i])))).Max();
        // 10 % on top for the exchange with the shards.
        return Math.Max(1, (long)(minutes * 60 / (seconds * 1.1)));
    }

    /// <summary>Takes a checkpoint's state after the current step: every shard copies its own (and starts uploading
    /// it), worker 0 exports the backbone; the manifest is filled in except for its files.</summary>
    private async Task<RunCheckpoints.Snapshot> SnapshotAsync(RunSpec s)
    {
        var shards = shardGrains;
        var map = shardMap!;
        // The workers pull a step's result with the next step's work: the one exporting must hold this step's now.
        await SyncAllAsync(s, step, StepDeadline(s));
        await Task.WhenAll(shards.Select(g => g.BeginSaveAsync(step)));
        // Any worker holds the state: one lost meanwhile is dropped and the next exports.
        BackboneExport? export = null;
        while (export is null)
        {
            var member = crew!.Members.FirstOrDefault() ?? throw new InvalidOperationException($"step {step}: no worker is left to export the backbone");
            var (ok, value, failure) = await CallAsync(member, member.Grain.ExportBackboneAsync, TimeSpan.FromMinutes(10));
            if (failure is not null) Rethrow(failure);
            if (ok) export = value;
        }
        var metrics = new Dictionary<string, double> { ["param_l2"] = export.ParamL2 };
        if (progress.Count > 0)
        {
            metrics["loss_first"] = progress[0].Loss;
            metrics["loss_last"] = progress[^1].Loss;
            metrics["lr"] = progress[^1].Lr;
            metrics["tau"] = progress[^1].Tau;
        }
        var manifest = new CheckpointManifest(CheckpointManifest.CurrentFormat, s.RunId, s, step,
            (double)step * s.Batch / trainCount, step * s.Batch, plannedSteps, map.Shards, metrics, [], DateTimeOffset.UtcNow);
        return new RunCheckpoints.Snapshot(shards, export, manifest);
    }

    private async Task ReleaseAsync(ShardMap? map)
    {
        try
        {
            // The register would also see that this run ended; releasing frees the slots at once.
            await GrainFactory.GetGrain<IDeviceSlotLeaseGrain>(0).ReleaseAsync(this.GetPrimaryKeyString());
            if (crew is not null) await crew.ReleaseAllAsync();
            if (map is not null)
                await Task.WhenAll(map.Shards.Select(r => GrainFactory.GetGrain<IParameterShardGrain>(map.ShardKey(r.Index)).ReleaseAsync()));
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Releasing the grains of run {Run} failed", spec?.RunId);
        }
    }
}

/// <summary>Where a run's grains live: worker w on device slot Workers[w]; parameter shard k and data shard k on
/// silo k mod S of the cluster's S active silos (in address order), so that shards spread over every silo.</summary>
public sealed record RunLayout(WorkerSlot[] Workers, SiloAddress[] Silos)
{
    public SiloAddress SiloFor(int shard) => Silos[shard % Silos.Length];
}
