using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Core.Data;
using SslOrleans.Core.Export;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;
using SslOrleans.Core.Training;
using SslOrleans.Grains.Compute;
using SslOrleans.Grains.Data;
using TorchSharp;

namespace SslOrleans.Grains.Workers;

/// <summary>
/// A model replica on one compute device (key: "run-id/slot"). All tensor work runs on the worker's own
/// <see cref="ComputeThread"/>; the grain only moves bytes between that thread and the parameter shards.
/// </summary>
public sealed class WorkerGrain(ILogger<WorkerGrain> logger, ILocalSiloDetails silo) : Grain, IWorkerGrain
{
    private ComputeThread? compute;
    private Replica? replica;
    private Replica? initialReplica;
    private WorkerInit? init;
    private ImageDataset? train;
    private ImageDataset? test;

    public async Task<WorkerReady> InitializeAsync(WorkerInit request)
    {
        await ReleaseReplicaAsync();
        init = request;
        var spec = request.Spec;
        int threads = spec.ThreadsPerWorker > 0 ? spec.ThreadsPerWorker : Math.Max(1, Environment.ProcessorCount / Math.Max(1, request.WorkersInProcess));
        compute = new ComputeThread($"sslo-worker-{this.GetPrimaryKeyString()}");
        var ready = await compute.RunAsync(() =>
        {
            // libtorch's intra-op pool is per process: the cores are divided among the workers of this silo.
            torch.set_num_threads(threads);
            train = DatasetCatalog.Train(spec.Dataset, spec.Data);
            test = DatasetCatalog.Test(spec.Dataset, spec.Data);
            replica = new Replica(Options(spec, train.Channels));
            return new WorkerReady(ToInfo(replica.Layout), train.Count, test.Count, train.Classes, threads, silo.SiloAddress.ToString());
        });
        logger.LogInformation("Worker {Key} ready on {Silo} with {Threads} threads, {Params} parameters",
            this.GetPrimaryKeyString(), ready.Silo, threads, ready.Layout.ParameterCount);
        return ready;
    }

    public async Task PushInitialStateAsync(ShardMap shards)
    {
        var (r, c) = Ready();
        var chunks = await c.RunAsync(() =>
        {
            var l = r.Layout;
            var p = new float[l.ParameterCount];
            var b = new float[l.BufferCount];
            var t = new float[l.TargetCount];
            r.ReadState(p, b, t);
            return shards.Shards.Select(s => Chunk(shards, 0, -1, Concat<float>(
                p.AsSpan((int)s.ParamOffset, (int)s.ParamLength),
                b.AsSpan((int)s.BufferOffset, (int)s.BufferLength),
                t.AsSpan((int)s.ParamOffset, (int)s.TargetLength)))).ToArray();
        });
        await Task.WhenAll(shards.Shards.Select(s => SendAll(Shard(shards, s.Index).InitializeAsync, chunks[s.Index])));
    }

    public async Task SyncAsync(ShardMap shards, long version)
    {
        var (r, c) = Ready();
        var pulled = await Task.WhenAll(shards.Shards.Select(s => PullAllAsync(shards, s, version)));
        await c.RunAsync(() =>
        {
            var l = r.Layout;
            var p = new float[l.ParameterCount];
            var b = new float[l.BufferCount];
            var t = new float[l.TargetCount];
            foreach (var s in shards.Shards)
            {
                // The target covers a prefix of the parameters, so a shard's target slice sits at its parameter offset.
                Region[] parts = [new(p, (int)s.ParamOffset, (int)s.ParamLength), new(b, (int)s.BufferOffset, (int)s.BufferLength), new(t, (int)s.ParamOffset, (int)s.TargetLength)];
                foreach (var chunk in pulled[s.Index]) Regions.Write(TensorBytes.As<float>(chunk.Data), chunk.Offset, parts);
            }
            r.LoadState(p, b, t);
        });
    }

    public async Task<StepReport> RunStepAsync(StepWork work)
    {
        var (r, c) = Ready();
        var slot = init!.Slot;
        var clock = Stopwatch.StartNew();
        var (chunks, lossSum) = await c.RunAsync(() =>
        {
            var g = r.ComputeGradients(ToMicroBatches(work.MicroBatches), train!);
            var perShard = work.Shards.Shards.Select(s => Chunk(work.Shards, work.Step, slot, Concat<double>(
                g.Gradients.AsSpan((int)s.ParamOffset, (int)s.ParamLength),
                g.BufferSums.AsSpan((int)s.BufferOffset, (int)s.BufferLength),
                []))).ToArray();
            return (perShard, g.LossSum);
        });
        var computeSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        await Task.WhenAll(work.Shards.Shards.Select(s => SendAll(Shard(work.Shards, s.Index).PushAsync, chunks[s.Index])));
        long bytes = chunks.Sum(list => list.Sum(ch => (long)ch.Data.Length));
        return new StepReport(slot, lossSum, work.MicroBatches.Length, computeSeconds, clock.Elapsed.TotalSeconds, bytes);
    }

    public async Task<double> TimeMicroBatchesAsync(MicroBatchWork[] microBatches)
    {
        var (r, c) = Ready();
        return await c.RunAsync(() =>
        {
            var clock = Stopwatch.StartNew();
            r.ComputeGradients(ToMicroBatches(microBatches), train!);
            return clock.Elapsed.TotalSeconds;
        });
    }

    public async Task<FeatureBlock> ExtractFeaturesAsync(FeatureRequest request)
    {
        var (r, c) = Ready();
        var spec = init!.Spec;
        return await c.RunAsync(() =>
        {
            var data = request.Split == FeatureSplit.Train ? train! : test!;
            if (request.Start < 0 || request.Count < 0 || request.Start + request.Count > data.Count)
                throw new ArgumentOutOfRangeException(nameof(request), $"samples [{request.Start}, {request.Start + request.Count}) are outside the {data.Count} of the {request.Split} split");
            var source = r;
            if (request.Initial) source = initialReplica ??= new Replica(Options(spec, data.Channels));
            var features = source.Features(data, request.Start, request.Count);
            int dim = request.Count == 0 ? 0 : features.Length / request.Count;
            return new FeatureBlock(request.Start, request.Count, dim, TensorBytes.ToBytes<float>(features), data.Labels.AsSpan(request.Start, request.Count).ToArray());
        });
    }

    public async Task<BackboneExport> ExportBackboneAsync()
    {
        var (r, c) = Ready();
        return await c.RunAsync(() =>
        {
            using var stream = new MemoryStream();
            SafeTensors.Write(stream, r.BackboneStateDict(), new Dictionary<string, string>
            {
                ["format"] = "pt",
                ["architecture"] = $"{init!.Spec.Backbone} cifar-stem width={init.Spec.Width}",
                ["method"] = init.Spec.Method,
            });
            return new BackboneExport(stream.ToArray(), r.BackboneParameterNorm());
        });
    }

    public async Task<string> GetStateDigestAsync()
    {
        var (r, c) = Ready();
        return await c.RunAsync(() =>
        {
            var l = r.Layout;
            var p = new float[l.ParameterCount];
            var b = new float[l.BufferCount];
            var t = new float[l.TargetCount];
            r.ReadState(p, b, t);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(MemoryMarshal.AsBytes(p.AsSpan()));
            sha.AppendData(MemoryMarshal.AsBytes(b.AsSpan()));
            sha.AppendData(MemoryMarshal.AsBytes(t.AsSpan()));
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        });
    }

    public async Task ReleaseAsync()
    {
        await ReleaseReplicaAsync();
        DeactivateOnIdle();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await ReleaseReplicaAsync();
    }

    private async Task ReleaseReplicaAsync()
    {
        if (compute is null) return;
        var c = compute;
        await c.RunAsync(() =>
        {
            replica?.Dispose();
            initialReplica?.Dispose();
        });
        replica = null;
        initialReplica = null;
        compute = null;
        c.Dispose();
    }

    private (Replica, ComputeThread) Ready() =>
        replica is not null && compute is not null ? (replica, compute)
            : throw new InvalidOperationException($"worker {this.GetPrimaryKeyString()} is not initialised");

    private IParameterShardGrain Shard(ShardMap map, int index) => GrainFactory.GetGrain<IParameterShardGrain>(map.ShardKey(index));

    /// <summary>The shard's [parameters | buffers | target] of <paramref name="version"/>, as received chunks.</summary>
    private async Task<List<ShardChunk>> PullAllAsync(ShardMap map, ShardRange s, long version)
    {
        var shard = Shard(map, s.Index);
        var chunks = new List<ShardChunk>();
        foreach (var (offset, count) in TensorBytes.Chunks(s.ParamLength + s.BufferLength + s.TargetLength, map.ChunkBytes, sizeof(float)))
        {
            var chunk = await shard.PullAsync(offset, count);
            if (chunk.Version != version)
                throw new InvalidOperationException($"shard {s.Index} is at version {chunk.Version}, worker {this.GetPrimaryKeyString()} expected {version}");
            chunks.Add(chunk);
        }
        return chunks;
    }

    private static async Task SendAll(Func<ShardChunk, Task> send, IEnumerable<ShardChunk> chunks)
    {
        foreach (var chunk in chunks) await send(chunk);
    }

    private static List<ShardChunk> Chunk<T>(ShardMap map, long version, int slot, T[] payload) where T : unmanaged =>
        TensorBytes.Split(payload, map.ChunkBytes).Select(c => new ShardChunk(version, slot, c.Offset, c.Total, c.Data)).ToList();

    private static T[] Concat<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c)
    {
        var r = new T[a.Length + b.Length + c.Length];
        a.CopyTo(r);
        b.CopyTo(r.AsSpan(a.Length));
        c.CopyTo(r.AsSpan(a.Length + b.Length));
        return r;
    }

    private static List<MicroBatch> ToMicroBatches(MicroBatchWork[] work) => work.Select(w => new MicroBatch(w.Index, w.Samples, w.Seed)).ToList();

    internal static MethodOptions Options(Abstractions.Runs.RunSpec spec, int channels) =>
        new(spec.Method, new BackboneOptions(spec.Backbone, spec.Width, channels), spec.Seed, spec.HiddenDim, spec.ProjectionDim, spec.TauBase);

    private static ModelLayoutInfo ToInfo(ModelLayout l) => new(
        l.Parameters.Select(Info).ToArray(), l.Buffers.Select(Info).ToArray(), l.ParameterCount, l.BufferCount, l.TargetCount);

    private static TensorInfo Info(TensorSlot s) => new(s.Name, s.Offset, s.Length, s.Excluded, s.HasTarget);
}
