using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Core.Training;
using SslOrleans.Grains.Checkpoints;
using SslOrleans.Grains.Compute;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Shards;

/// <summary>
/// One contiguous run of whole tensors (key: "run-id/k"). Collects the [gradient | buffer sums] of the current
/// version's micro-batch ranges, then averages them in micro-batch order (deterministic), applies the optimizer and the
/// EMA target update on a pool thread, and serves [parameters | buffers | target] of the new version.
/// </summary>
public sealed class ParameterShardGrain(ICheckpointStoreFactory stores, TensorDataPlane dataPlane, Placement.IDeviceSlotDirectory cluster,
    ILocalSiloDetails silo, Microsoft.Extensions.Logging.ILogger<ParameterShardGrain> logger) : Grain, IParameterShardGrain
{
    private ShardConfig? config;
    private SliceTensor[] tensors = [];
    private SliceTensor[] probeTensors = [];
    private float[] parameters = [];
    private float[] momentum = [];
    private float[] variance = [];
    private float[] target = [];
    private float[] buffers = [];
    private long version = -1;
    // The step's float64 sums and their float32 mean, kept between steps: a shard of millions of values
    // would otherwise allocate (and zero) tens of megabytes per step.
    private double[] sum = [];
    private float[] mean = [];
    // Pulls of the current version by (offset, count): every worker asks for the same chunks, so each is built once.
    private readonly Dictionary<(long Offset, int Count), byte[]> pulled = [];
    private long initialised;
    private StepContributions contributions = new(0);
    // The ranges of the current step that their workers vouched for (StepCommit), with their loss sums: the step
    // applies when they are all; the loss of a step applied so is kept for a coordinator that takes the run over.
    private readonly Dictionary<MicroBatchRange, double> vouched = [];
    private (long Step, double Loss)? committedLoss;
    // The checked mean of the current step (in `mean`), until it is applied or a new contribution arrives.
    private (long Step, int MicroBatches, ApplyResult Result)? prepared;
    // Checkpoint writes in flight, by step: started by BeginSave, awaited by EndSave.
    private readonly Dictionary<long, Task<FileDigest>> saves = [];

    public Task ConfigureAsync(ShardConfig shardConfig)
    {
        config = shardConfig;
        var r = shardConfig.Range;
        SliceTensor Slice(TensorInfo t) => new(t.Offset - r.ParamOffset, t.Length, t.Excluded);
        tensors = shardConfig.Tensors.Where(t => !t.Probe).Select(Slice).ToArray();
        probeTensors = shardConfig.Tensors.Where(t => t.Probe).Select(Slice).ToArray();
        parameters = new float[r.ParamLength];
        momentum = new float[r.ParamLength];
        // AdamW's second moment; the probe's SGD does not use it.
        variance = new float[Runs.RunPlan.Optimizer(shardConfig.Spec).NeedsSecondMoment ? r.ParamLength : 0];
        target = new float[r.TargetLength];
        buffers = new float[r.BufferLength];
        version = -1;
        initialised = 0;
        prepared = null;
        contributions = new StepContributions(r.ParamLength + r.BufferLength);
        vouched.Clear();
        pulled.Clear();
        return Task.CompletedTask;
    }

    public Task InitializeAsync(ShardChunk chunk)
    {
        var r = Config().Range;
        CheckPayload(chunk, r.ParamLength + r.BufferLength + r.TargetLength, sizeof(float));
        var values = TensorBytes.As<float>(chunk.Data);
        Regions.Write(values, chunk.Offset, State());
        pulled.Clear();
        initialised += values.Length;
        if (initialised == chunk.Total) version = chunk.Version;
        return Task.CompletedTask;
    }

    public Task PushAsync(ShardChunk chunk)
    {
        var r = Config().Range;
        // A late copy of a step applied already (a redone call's first attempt arriving after all): nothing to add.
        if (chunk.Version < version) return Task.CompletedTask;
        if (chunk.Version != version)
            throw new InvalidOperationException($"shard {r.Index}: push for step {chunk.Version} (micro-batches [{chunk.First}, {chunk.First + chunk.Count})), but the shard is at version {version}");
        int size = GradientWire.ElementBytes(Config().Spec.GradientDtype);
        CheckPayload(chunk, r.ParamLength + r.BufferLength, size);
        if (contributions.Add(chunk, chunk.Data.Length / size)) prepared = null;
        return Task.CompletedTask;
    }

    public Task<ReceivedRanges> GetReceivedAsync(long step) =>
        Task.FromResult(new ReceivedRanges(version, step == version ? contributions.Complete.ToArray() : []));

    public Task ResetStepAsync(long step)
    {
        if (step == version)
        {
            contributions.Clear();
            vouched.Clear();
            prepared = null;
        }
        return Task.CompletedTask;
    }

    public Task<ShardHealth> GetHealthAsync() => Task.FromResult(new ShardHealth(config is not null && version >= 0, version, silo.SiloAddress.ToString(),
        committedLoss is { } c && c.Step == version - 1 ? c.Loss : null));

    public async Task<long> RestoreFromMirrorAsync()
    {
        var cfg = Config();
        var r = cfg.Range;
        var mirror = GrainFactory.GetGrain<IShardMirrorGrain>(this.GetPrimaryKeyString());
        var info = await mirror.GetInfoAsync() ?? throw new InvalidOperationException($"shard {r.Index}: its mirror holds no copy of its state");
        int piece = Math.Max(1 << 16, cfg.Spec.ChunkBytes);
        var parts = await Task.WhenAll(TensorBytes.Chunks(info.Bytes, piece, 1).Select(c => mirror.ReadAsync(info.Version, c.Offset, c.Count)));
        var source = $"the mirror of shard {r.Index} on {info.Silo}";
        var shard = await Task.Run(() => ShardFile.Parse(parts.SelectMany(p => p).ToArray(), source));
        Take(shard, source);
        logger.LogWarning("Shard {Shard} rebuilt on {Silo} from {Source} at version {Version}", this.GetPrimaryKeyString(), silo.SiloAddress, source, version);
        return version;
    }

    /// <summary>Copies the state to the mirror on another silo (the next active one after this silo in address order),
    /// in pieces of chunk_bytes; with one silo there is nowhere else to put it.</summary>
    private async Task<bool> MirrorAsync()
    {
        var cfg = Config();
        if (!cfg.Spec.MirrorShards) return false;
        try
        {
            var silos = (await cluster.ReadAsync(TimeSpan.FromSeconds(30))).Select(s => s.Silo).OrderBy(s => s.ToString(), StringComparer.Ordinal).ToList();
            var others = silos.Where(s => !s.Equals(silo.SiloAddress)).ToList();
            if (others.Count == 0) return false;
            var buddy = others.FirstOrDefault(s => string.CompareOrdinal(s.ToString(), silo.SiloAddress.ToString()) > 0) ?? others[0];
            var bytes = await Task.Run(new ShardFile(version, cfg.Range.Index, parameters, momentum, variance, target, buffers).ToBytes);
            var key = this.GetPrimaryKeyString();
            var mirror = GrainFactory.GetGrain<IShardMirrorGrain>(key);
            int piece = Math.Max(1 << 16, cfg.Spec.ChunkBytes);
            // Over the tensor data plane when both silos run one (as gradients go: an Orleans byte payload is copied
            // several times on the way, which made the copy cost more than the step's exchange); asking the mirror for
            // its plane's endpoint places it on the buddy first.
            async Task<string[]> Store()
            {
                var to = dataPlane.Endpoint is null ? null : await Placement.PlacementHint.On(buddy, mirror.GetDataEndpointAsync);
                return await Task.WhenAll(TensorBytes.Chunks(bytes.Length, piece, 1).Select(c => to is not null
                    ? dataPlane.MirrorAsync(to, key, version, c.Offset, bytes.Length, bytes.AsMemory((int)c.Offset, c.Count))
                    : Placement.PlacementHint.On(buddy, () => mirror.StoreAsync(new MirrorChunk(version, c.Offset, bytes.Length, bytes.AsSpan((int)c.Offset, c.Count).ToArray())))));
            }
            if ((await Store()).Contains(silo.SiloAddress.ToString()))
            {
                // The mirror shares this silo (this shard was rebuilt where its mirror lives): losing the silo would lose
                // both. Let that activation go; the copy goes again, to a new one on the buddy silo.
                await mirror.ReleaseAsync();
                await Store();
            }
            return true;
        }
        catch (Exception e)
        {
            // The mirror's silo may be going away: the next apply copies the whole state again.
            logger.LogWarning(e, "Shard {Shard}: copying version {Version} to its mirror failed", this.GetPrimaryKeyString(), version);
            return false;
        }
    }

    public async Task<ApplyResult> PrepareAsync(ApplyRequest request)
    {
        var r = Config().Range;
        // A retried call (its answer was lost, or another shard's failure made the run ask again): applied already.
        if (request.Step < version) return new ApplyResult(version, []);
        if (request.Step != version)
            throw new InvalidOperationException($"shard {r.Index}: apply for step {request.Step}, but the shard is at version {version}");
        if (prepared is { } done && done.Step == request.Step && done.MicroBatches == request.MicroBatches) return done.Result;
        var gaps = contributions.Gaps(request.MicroBatches);
        var beyond = contributions.Complete.Where(c => c.End > request.MicroBatches).ToList();
        if (gaps.Count > 0 || beyond.Count > 0 || contributions.Incomplete.Count > 0)
            throw new InvalidOperationException($"shard {r.Index}: step {request.Step} of {request.MicroBatches} micro-batches" +
                (gaps.Count > 0 ? $" lacks micro-batches {string.Join(", ", gaps)}" : "") +
                (contributions.Incomplete.Count > 0 ? $"; holds part of {string.Join(", ", contributions.Incomplete)}" : "") +
                (beyond.Count > 0 ? $"; holds {string.Join(", ", beyond)} beyond the step" : ""));
        var summed = contributions.Complete.ToArray();
        var parts = contributions.InOrder();
        var dtype = Config().Spec.GradientDtype;
        int elementBytes = GradientWire.ElementBytes(dtype);
        var refused = await Task.Run(() =>
        {
            int p = (int)r.ParamLength;
            if (sum.Length != p + r.BufferLength) (sum, mean) = (new double[p + r.BufferLength], new float[p + r.BufferLength]);
            else Array.Clear(sum);
            // Contribution by contribution in micro-batch order; a contribution's chunks cover disjoint ranges, so every
            // element adds its terms in that order, whichever worker computed them.
            foreach (var part in parts)
                foreach (var chunk in part)
                    GradientWire.AddTo(sum.AsSpan((int)chunk.Offset, chunk.Data.Length / elementBytes), chunk.Data, dtype);
            // The mean over the step's micro-batches, rounded to float32 once.
            FlatOptimizer.MeanToSingle(sum, request.MicroBatches, mean);
            // A NaN or infinity would poison the parameters, the moments and (through the EMA) the target for good:
            // refuse the step before anything changes.
            if (NonFinite.First(mean) is not { } bad) return null;
            return bad < p
                ? $"shard {r.Index}: the mean gradient of step {request.Step} is {mean[bad]} in {TensorAt(bad)}; nothing was applied"
                : $"shard {r.Index}: the mean batch-norm buffers of step {request.Step} hold {mean[bad]}; nothing was applied";
        });
        var result = new ApplyResult(version, summed, refused);
        prepared = (request.Step, request.MicroBatches, result);
        return result;
    }

    public async Task<ApplyResult> ApplyAsync(ApplyRequest request)
    {
        var cfg = Config();
        var r = cfg.Range;
        var check = await PrepareAsync(request);
        if (request.Step < version) return check;
        if (check.Refused is { } why) throw new InvalidOperationException(why);
        var settings = Runs.RunPlan.Optimizer(cfg.Spec);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Run(() =>
        {
            int p = (int)r.ParamLength;
            FlatOptimizer.Step(parameters, mean.AsSpan(0, p), momentum, variance, tensors, settings, request.Lr, request.Step);
            FlatOptimizer.Step(parameters, mean.AsSpan(0, p), momentum, [], probeTensors, Runs.RunPlan.ProbeOptimizer, request.ProbeLr, request.Step);
            mean.AsSpan(p).CopyTo(buffers);
            FlatOptimizer.Ema(target, parameters.AsSpan(0, target.Length), request.Tau);
        });
        var tags = Diagnostics.TrainingMetrics.Run(cfg.Spec.RunId, cfg.Spec.Method);
        Diagnostics.TrainingMetrics.ApplyDuration.Record(clock.Elapsed.TotalSeconds, tags);
        contributions.Clear();
        vouched.Clear();
        pulled.Clear();
        prepared = null;
        version = request.Step + 1;
        // Before answering: once every shard answered, every mirror holds the new version, and a shard lost after
        // this point is rebuilt without redoing the step.
        var mirrorClock = System.Diagnostics.Stopwatch.StartNew();
        bool mirrored = await MirrorAsync();
        if (mirrored) Diagnostics.TrainingMetrics.MirrorDuration.Record(mirrorClock.Elapsed.TotalSeconds, tags);
        return check with { Version = version, Mirrored = mirrored };
    }

    public async Task<ApplyResult?> CommitAsync(StepCommit commit)
    {
        var request = commit.Apply;
        // A late word for a step applied already (redone work): nothing to do.
        if (request.Step < version) return null;
        if (request.Step != version)
            throw new InvalidOperationException($"shard {Config().Range.Index}: commit of step {request.Step} ({commit.Range}), but the shard is at version {version}");
        if (!contributions.Complete.Contains(commit.Range))
            throw new InvalidOperationException($"shard {Config().Range.Index}: step {request.Step}: micro-batches {commit.Range} were vouched for before they arrived whole");
        vouched[commit.Range] = commit.LossSum;
        // Applies when the step is whole: every micro-batch held once, every range vouched for. The last worker's commit
        // makes the apply, which runs exactly as the coordinator's ApplyAsync (and refuses what it would refuse).
        if (contributions.Incomplete.Count > 0 || contributions.Gaps(request.MicroBatches).Count > 0 || !contributions.Complete.All(vouched.ContainsKey))
            return null;
        double loss = vouched.OrderBy(v => v.Key.First).Sum(v => v.Value) / request.MicroBatches;
        var result = await ApplyAsync(request);
        committedLoss = (request.Step, loss);
        return result;
    }

    public Task<ShardChunk> PullAsync(long offset, int count)
    {
        var r = Config().Range;
        long total = r.ParamLength + r.BufferLength + r.TargetLength;
        if (offset < 0 || count < 0 || offset + count > total)
            throw new ArgumentOutOfRangeException(nameof(offset), $"shard {r.Index}: floats [{offset}, {offset + count}) are outside [0, {total})");
        if (!pulled.TryGetValue((offset, count), out var bytes))
        {
            pulled[(offset, count)] = bytes = new byte[count * sizeof(float)];
            Regions.Read(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan()), offset, State());
        }
        return Task.FromResult(new ShardChunk(version, -1, offset, total, bytes));
    }

    public async Task BeginSaveAsync(long step)
    {
        var cfg = Config();
        if (saves.ContainsKey(step)) throw new InvalidOperationException($"shard {cfg.Range.Index}: the checkpoint of step {step} is already being written");
        var file = new ShardFile(version, cfg.Range.Index, parameters, momentum, variance, target, buffers);
        // The copy: serialising takes the state as it is now (the next apply replaces these arrays' values), off the
        // grain scheduler; the upload of the copy then runs while training goes on.
        var bytes = await Task.Run(file.ToBytes);
        var store = stores.Open(cfg.Spec.Out);
        saves[step] = Task.Run(async () => (await store.WriteFileAsync(step, CheckpointNames.Shard(cfg.Range.Index), bytes)).ToDigest());
    }

    public async Task<FileDigest> EndSaveAsync(long step)
    {
        if (!saves.TryGetValue(step, out var save))
            throw new InvalidOperationException($"parameter shard {this.GetPrimaryKeyString()}: no checkpoint of step {step} is being written");
        try { return await save; }
        finally { saves.Remove(step); }
    }

    public async Task<long> LoadAsync(long step, FileDigest file)
    {
        var cfg = Config();
        var store = stores.Open(cfg.Spec.Out);
        var source = $"{store.Location}/{CheckpointNames.Folder(step)}/{file.Name}";
        var shard = await Task.Run(async () => ShardFile.Parse(
            await CheckpointFiles.ReadVerifiedAsync(store, step, new StoredFile(file.Name, file.Sha256, file.Bytes), source), source));
        Take(shard, source);
        return version;
    }

    /// <summary>Makes a shard file's state this shard's, after checking it is this shard's.</summary>
    private void Take(ShardFile shard, string source)
    {
        var cfg = Config();
        var r = cfg.Range;
        if (shard.Index != r.Index || shard.Parameters.Length != r.ParamLength || shard.Target.Length != r.TargetLength || shard.Buffers.Length != r.BufferLength)
            throw new InvalidDataException($"{source}: holds shard {shard.Index} with {shard.Parameters.Length} parameters, expected shard {r.Index} with {r.ParamLength}");
        if (shard.Variance.Length != variance.Length)
            throw new InvalidDataException($"{source}: holds {shard.Variance.Length} second-moment values, the optimizer {cfg.Spec.Optimizer} needs {variance.Length}");
        (parameters, momentum, variance, target, buffers, version) = (shard.Parameters, shard.Momentum, shard.Variance, shard.Target, shard.Buffers, shard.Version);
        contributions.Clear();
        vouched.Clear();
        pulled.Clear();
        prepared = null;
    }

    public Task<string?> GetDataEndpointAsync() => Task.FromResult(dataPlane.Endpoint);

    public async Task ReleaseAsync()
    {
        try { await GrainFactory.GetGrain<IShardMirrorGrain>(this.GetPrimaryKeyString()).ReleaseAsync(); }
        catch (Exception e) { logger.LogInformation("Shard {Shard}: releasing its mirror failed: {Message}", this.GetPrimaryKeyString(), e.Message); }
        DeactivateOnIdle();
    }

    public Task LeaveAsync()
    {
        logger.LogInformation("Shard {Shard}: leaving silo {Silo}; its mirror holds its state", this.GetPrimaryKeyString(), silo.SiloAddress);
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    // [parameters | buffers | target] as one index space.
    private Region<float>[] State() => [new(parameters, 0, parameters.Length), new(buffers, 0, buffers.Length), new(target, 0, target.Length)];

    private static void CheckPayload(ShardChunk chunk, long expectedTotal, int elementBytes)
    {
        long count = chunk.Data.Length / elementBytes;
        if (chunk.Total != expectedTotal || chunk.Offset < 0 || chunk.Offset + count > expectedTotal)
            throw new ArgumentException($"chunk [{chunk.Offset}, +{count}) of {chunk.Total} values does not fit this shard's {expectedTotal}");
    }

    /// <summary>The name of the tensor that holds parameter value <paramref name="index"/> of this shard.</summary>
    private string TensorAt(int index)
    {
        var cfg = Config();
        var t = cfg.Tensors.FirstOrDefault(t => t.Offset - cfg.Range.ParamOffset <= index && index < t.Offset - cfg.Range.ParamOffset + t.Length);
        return t is null ? "parameters" : $"tensor {t.Name}";
    }

    private ShardConfig Config() => config ?? throw new InvalidOperationException($"parameter shard {this.GetPrimaryKeyString()} is not configured");
}
