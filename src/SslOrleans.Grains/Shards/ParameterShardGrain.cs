using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Core.Training;
using SslOrleans.Grains.Checkpoints;
using SslOrleans.Grains.Compute;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Shards;

/// <summary>
/// One contiguous run of whole tensors (key: "run-id/k"). Collects each worker's [gradient | buffer sums]
/// for the current version, then averages them in slot order (deterministic), applies the optimizer and the
/// EMA target update on a pool thread, and serves [parameters | buffers | target] of the new version.
/// </summary>
public sealed class ParameterShardGrain(ICheckpointStoreFactory stores, TensorDataPlane dataPlane) : Grain, IParameterShardGrain
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
    private readonly SortedDictionary<int, Contribution> contributions = new();
    // Checkpoint writes in flight, by step: started by BeginSave, awaited by EndSave.
    private readonly Dictionary<long, Task<FileDigest>> saves = [];

    /// <summary>A worker's pushed chunks for the current step, kept as received: summed once, off the scheduler, at apply.</summary>
    private sealed class Contribution
    {
        public List<ShardChunk> Chunks { get; } = [];
        public long Received { get; set; }
    }

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
        contributions.Clear();
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
        if (chunk.Version != version)
            throw new InvalidOperationException($"shard {r.Index}: push for step {chunk.Version} from slot {chunk.Slot}, but the shard is at version {version}");
        int size = GradientWire.ElementBytes(Config().Spec.GradientDtype);
        CheckPayload(chunk, r.ParamLength + r.BufferLength, size);
        if (!contributions.TryGetValue(chunk.Slot, out var c)) contributions[chunk.Slot] = c = new Contribution();
        c.Chunks.Add(chunk);
        c.Received += chunk.Data.Length / size;
        return Task.CompletedTask;
    }

    public async Task<long> ApplyAsync(ApplyRequest request)
    {
        var cfg = Config();
        var r = cfg.Range;
        if (request.Step != version)
            throw new InvalidOperationException($"shard {r.Index}: apply for step {request.Step}, but the shard is at version {version}");
        var parts = new List<List<ShardChunk>>();
        foreach (var slot in request.Slots.Order())
        {
            if (!contributions.TryGetValue(slot, out var c) || c.Received != r.ParamLength + r.BufferLength)
                throw new InvalidOperationException($"shard {r.Index}: step {request.Step} lacks the full contribution of worker slot {slot}");
            parts.Add(c.Chunks);
        }
        var settings = Runs.RunPlan.Optimizer(cfg.Spec);
        var dtype = cfg.Spec.GradientDtype;
        int elementBytes = GradientWire.ElementBytes(dtype);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Run(() =>
        {
            int p = (int)r.ParamLength;
            if (sum.Length != p + r.BufferLength) (sum, mean) = (new double[p + r.BufferLength], new float[p + r.BufferLength]);
            else Array.Clear(sum);
            // Slot by slot in slot order; a slot's chunks cover disjoint ranges, so every element adds its terms in slot order.
            foreach (var part in parts)
                foreach (var chunk in part)
                    GradientWire.AddTo(sum.AsSpan((int)chunk.Offset, chunk.Data.Length / elementBytes), chunk.Data, dtype);
            // The mean over the step's micro-batches, rounded to float32 once.
            FlatOptimizer.MeanToSingle(sum, request.MicroBatches, mean);
            FlatOptimizer.Step(parameters, mean.AsSpan(0, p), momentum, variance, tensors, settings, request.Lr, request.Step);
            FlatOptimizer.Step(parameters, mean.AsSpan(0, p), momentum, [], probeTensors, Runs.RunPlan.ProbeOptimizer, request.ProbeLr, request.Step);
            mean.AsSpan(p).CopyTo(buffers);
            FlatOptimizer.Ema(target, parameters.AsSpan(0, target.Length), request.Tau);
        });
        Diagnostics.TrainingMetrics.ApplyDuration.Record(clock.Elapsed.TotalSeconds, Diagnostics.TrainingMetrics.Run(cfg.Spec.RunId, cfg.Spec.Method));
        contributions.Clear();
        pulled.Clear();
        version = request.Step + 1;
        return version;
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
        var r = cfg.Range;
        if (shard.Index != r.Index || shard.Parameters.Length != r.ParamLength || shard.Target.Length != r.TargetLength || shard.Buffers.Length != r.BufferLength)
            throw new InvalidDataException($"{source}: holds shard {shard.Index} with {shard.Parameters.Length} parameters, expected shard {r.Index} with {r.ParamLength}");
        if (shard.Variance.Length != variance.Length)
            throw new InvalidDataException($"{source}: holds {shard.Variance.Length} second-moment values, the optimizer {cfg.Spec.Optimizer} needs {variance.Length}");
        (parameters, momentum, variance, target, buffers, version) = (shard.Parameters, shard.Momentum, shard.Variance, shard.Target, shard.Buffers, shard.Version);
        contributions.Clear();
        pulled.Clear();
        return version;
    }

    public Task<string?> GetDataEndpointAsync() => Task.FromResult(dataPlane.Endpoint);

    public Task ReleaseAsync()
    {
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

    private ShardConfig Config() => config ?? throw new InvalidOperationException($"parameter shard {this.GetPrimaryKeyString()} is not configured");
}
