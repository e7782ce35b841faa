using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Core.Data;
using SslOrleans.Core.Export;
using SslOrleans.Core.Numerics;
using SslOrleans.Core.Training;
using SslOrleans.Grains.Compute;
using SslOrleans.Grains.Data;
using SslOrleans.Grains.Diagnostics;
using TorchSharp;

namespace SslOrleans.Grains.Workers;

/// <summary>
/// A model replica on one compute device (key: "run-id/slot"). All tensor work runs on the worker's own
/// <see cref="ComputeThread"/>; the grain only moves bytes between that thread and the parameter shards.
/// </summary>
[Placement.DeviceSlotPlacement]
public sealed class WorkerGrain(ILogger<WorkerGrain> logger, ILocalSiloDetails silo, TensorDataPlane dataPlane, Storage.Data.BlobFolderCache blobFolders) : Grain, IWorkerGrain
{
    private ComputeThread? compute;
    private Replica? replica;
    private Replica? initialReplica;
    private WorkerInit? init;
    private IImageSource? train;
    private IImageSource? test;
    private DatasetLease? trainLease;
    private DatasetLease? testLease;
    private SampleHints? hints;
    // Owned by the compute thread: the push arrays and the pulled state, reused every step.
    private ChunkBuffers pushBuffers = new();
    private FlatState? pulledState;
    private long pushedStep = -1;
    // The version of the state the replica holds (-1: none pulled yet). A step's work pulls its version first when the
    // replica is older: the pull of a step's result waits for the next step's call instead of a call of its own.
    private long heldVersion = -1;
    private WorkerReady? readyAnswer;

    public async Task<WorkerReady> InitializeAsync(WorkerInit request)
    {
        await ReleaseReplicaAsync();
        // The dataset and tokenizer as local folders (az:// ones come from this silo's blob cache).
        var spec = await RunSpecStorage.LocalizeAsync(blobFolders, request.Spec);
        init = request = request with { Spec = spec };
        if (request.Device != "cpu")
            throw new NotSupportedException($"worker {this.GetPrimaryKeyString()}: device {request.Device}: replicas run on the CPU in this version; offer cpu slots (SslTraining:Devices)");
        int threads = spec.ThreadsPerWorker > 0 ? spec.ThreadsPerWorker : Math.Max(1, request.Threads);
        compute = new ComputeThread($"sslo-worker-{this.GetPrimaryKeyString()}");
        var ready = await compute.RunAsync(() =>
        {
            // libtorch's intra-op pool is per process: the cores are divided among the workers of this silo.
            torch.set_num_threads(threads);
            trainLease = DatasetCatalog.Lease(spec, "train");
            testLease = DatasetCatalog.TryLeaseTest(spec);
            train = trainLease.Source;
            test = testLease?.Source;
            hints = new SampleHints(train, spec);
            replica = new Replica(RunSpecOptions.Method(spec, train), probeClasses: train.Classes);
            // Never train on wrong numbers: this process's kernels must compute the model's layers right at these
            // threads (some processors' oneDNN kernels do not; docs/architecture.md, "Numerics on every processor").
            var numerics = NumericsSelfCheck.Run(replica.Method.Backbone, [spec.MicroBatch, train.Channels, train.Height, train.Width]);
            return new WorkerReady(ToInfo(replica.Layout), train.Count, test?.Count ?? 0, train.Classes, threads, silo.SiloAddress.ToString(), replica.NeedsBatchEmbeddings,
                (int)replica.Method.FeatureDim, $"{numerics}; {OneDnnIsaGuard.Decision}");
        });
        logger.LogInformation("Worker {Key} ready on {Silo} with {Threads} threads, {Params} parameters; numerics self-check: {Numerics}",
            this.GetPrimaryKeyString(), ready.Silo, threads, ready.Layout.ParameterCount, ready.Numerics);
        return readyAnswer = ready;
    }

    public Task<WorkerReady?> GetReadyAsync() => Task.FromResult(replica is null ? null : readyAnswer);

    public async Task PushInitialStateAsync(ShardMap shards)
    {
        var (r, c) = Ready();
        var chunks = await c.RunAsync(() => ShardExchange.InitialChunks(shards, r.ReadState()));
        await ShardExchange.InitializeAsync(GrainFactory, shards, chunks);
    }

    public async Task SyncAsync(ShardMap shards, long version)
    {
        var (r, c) = Ready();
        var clock = Stopwatch.StartNew();
        var pulled = await ShardExchange.PullAsync(GrainFactory, dataPlane, shards, version, $"worker {this.GetPrimaryKeyString()}");
        RecordExchange("pull", pulled.Sum(s => s.Sum(chunk => (long)chunk.Data.Length)), clock.Elapsed.TotalSeconds);
        await c.RunAsync(() =>
        {
            var state = pulledState ??= FlatState.For(r.Layout);
            ShardExchange.Write(shards, pulled, state);
            r.LoadState(state);
        });
        heldVersion = version;
    }

    /// <summary>Pulls <paramref name="version"/> unless the replica holds it; returns the seconds the pull took.</summary>
    private async Task<double> HoldAsync(ShardMap shards, long version)
    {
        if (heldVersion == version) return 0;
        using var span = TrainingTracing.StartInCall("sslo.pull", init!.Spec.RunId);
        span?.SetTag("sslo.worker", this.GetPrimaryKeyString());
        span?.SetTag("sslo.version", version);
        var clock = Stopwatch.StartNew();
        try
        {
            await SyncAsync(shards, version);
        }
        catch (Exception e)
        {
            TrainingTracing.Fail(span, e);
            throw;
        }
        return clock.Elapsed.TotalSeconds;
    }

    public async Task<StepReport> RunStepAsync(StepWork work)
    {
        var (r, c) = Ready();
        var slot = init!.Slot;
        var range = work.Range;
        hints!.Hint(work.Step, work.MicroBatches);
        double pullSeconds = await HoldAsync(work.Shards, work.Step);
        // A second contribution in one step (work redone for a lost worker) must not overwrite the arrays of the first,
        // which a shard on this silo holds by reference until it applies the step.
        var buffers = pushedStep == work.Step ? null : pushBuffers;
        pushedStep = work.Step;
        var clock = Stopwatch.StartNew();
        var computeSpan = TrainingTracing.StartInCall("sslo.compute", init.Spec.RunId);
        computeSpan?.SetTag("sslo.worker", this.GetPrimaryKeyString());
        computeSpan?.SetTag("sslo.microbatches", work.MicroBatches.Length);
        (List<ShardChunk>[] Chunks, GradientResult G, double DataSeconds, string? NonFinite) computed;
        try
        {
            computed = await c.RunAsync(() =>
            {
                var step = work.Embeddings is { } e ? new BatchEmbeddings(TensorBytes.As<float>(e).ToArray(), work.StepMicroBatches) : null;
                var g = r.ComputeGradients(ToMicroBatches(work.MicroBatches), train!, step);
                return (ShardExchange.GradientChunks(work.Shards, work.Step, range, g.Gradients, g.BufferSums, init.Spec.GradientDtype, buffers, work.OnlyShards), g,
                    r.TakeDataSeconds(), Unsendable(r.Layout, g, init.Spec.GradientDtype, work.Step, range));
            });
        }
        catch (Exception e)
        {
            TrainingTracing.Fail(computeSpan, e);
            throw;
        }
        finally
        {
            computeSpan?.Dispose();
        }
        var (chunks, g, dataSeconds, nonFinite) = computed;
        var computeSeconds = clock.Elapsed.TotalSeconds;
        TrainingMetrics.ComputeDuration.Record(computeSeconds, TrainingMetrics.Run(init.Spec.RunId, init.Spec.Method));
        long bytes = ShardExchange.Bytes(chunks);
        using (var pushSpan = TrainingTracing.StartInCall("sslo.push", init.Spec.RunId))
        {
            pushSpan?.SetTag("sslo.worker", this.GetPrimaryKeyString());
            pushSpan?.SetTag("sslo.bytes", bytes);
            var pushClock = Stopwatch.StartNew();
            try
            {
                await ShardExchange.PushAsync(GrainFactory, dataPlane, work.Shards, chunks);
            }
            catch (Exception e)
            {
                TrainingTracing.Fail(pushSpan, e);
                throw;
            }
            RecordExchange("push", bytes, pushClock.Elapsed.TotalSeconds);
        }
        var applied = work.Commit is { } apply && nonFinite is null ? await CommitAsync(work, apply, g.LossSum) : null;
        return new StepReport(slot, g.LossSum, work.MicroBatches.Length, computeSeconds, bytes, g.ProbeCorrect, dataSeconds, applied, nonFinite, pullSeconds,
            Environment.WorkingSet);
    }

    /// <summary>Vouches for this worker's range at every shard it pushed to; the shards for which it was the last word
    /// applied the step in the call and say so.</summary>
    private async Task<ShardApplied[]> CommitAsync(StepWork work, ApplyRequest apply, double lossSum)
    {
        using var span = TrainingTracing.StartInCall("sslo.commit", init!.Spec.RunId);
        span?.SetTag("sslo.worker", this.GetPrimaryKeyString());
        var shards = work.OnlyShards ?? Enumerable.Range(0, work.Shards.Shards.Length).ToArray();
        var commit = new StepCommit(apply, work.Range, lossSum);
        try
        {
            var results = await Task.WhenAll(shards.Select(k => GrainFactory.GetGrain<IParameterShardGrain>(work.Shards.ShardKey(k)).CommitAsync(commit)));
            return shards.Zip(results).Where(x => x.Second is not null).Select(x => new ShardApplied(x.First, x.Second!)).ToArray();
        }
        catch (Exception e)
        {
            TrainingTracing.Fail(span, e);
            throw;
        }
    }

    /// <summary>Names the first gradient or buffer value of this contribution that would not reach the shards finite; null
    /// when every value does (the worker may then vouch for it).</summary>
    private string? Unsendable(ModelLayout layout, GradientResult g, string dtype, long step, MicroBatchRange range)
    {
        string Where(IReadOnlyList<TensorSlot> slots, int index) => slots.FirstOrDefault(t => t.Offset <= index && index < t.Offset + t.Length)?.Name ?? "?";
        // The coordinator refuses a step whose loss is not finite: its shards must not have applied it on this word.
        if (!double.IsFinite(g.LossSum))
            return $"worker {this.GetPrimaryKeyString()}: the loss of micro-batches {range} of step {step} sums to {g.LossSum}; nothing was applied";
        if (GradientWire.FirstUnsendable(g.Gradients, dtype) is { } p)
            return $"worker {this.GetPrimaryKeyString()}: the gradient of micro-batches {range} of step {step} is {g.Gradients[p]} in tensor {Where(layout.Parameters, p)}" +
                   (double.IsFinite(g.Gradients[p]) ? $", beyond what {dtype} carries" : "") + "; nothing was applied";
        if (GradientWire.FirstUnsendable(g.BufferSums, dtype) is { } b)
            return $"worker {this.GetPrimaryKeyString()}: the batch-norm buffers of micro-batches {range} of step {step} sum to {g.BufferSums[b]} in {Where(layout.Buffers, b)}; nothing was applied";
        return null;
    }

    public async Task<byte[]> EmbedAsync(MicroBatchWork[] microBatches, ShardMap shards, long version)
    {
        var (r, c) = Ready();
        hints!.Hint(microBatches);
        await HoldAsync(shards, version);
        return await c.RunAsync(() => TensorBytes.ToBytes<float>(r.Embed(ToMicroBatches(microBatches), train!)));
    }

    public async Task<long> ProbeCorrectAsync(int start, int count)
    {
        var (r, c) = Ready();
        return await c.RunAsync(() =>
        {
            if (start < 0 || count < 0 || start + count > test!.Count)
                throw new ArgumentOutOfRangeException(nameof(start), $"samples [{start}, {start + count}) are outside the {test!.Count} of the test split");
            return r.ProbeCorrect(test, start, count);
        });
    }

    public async Task<double> TimeMicroBatchesAsync(MicroBatchWork[] microBatches)
    {
        var (r, c) = Ready();
        return await c.RunAsync(() =>
        {
            var clock = Stopwatch.StartNew();
            // Renumbered so that a global-batch loss sees these micro-batches as a whole step of their own.
            var batches = microBatches.Select((w, i) => new MicroBatch(i, w.Samples, w.Seed)).ToList();
            var step = r.NeedsBatchEmbeddings ? new BatchEmbeddings(r.Embed(batches, train!), batches.Count) : null;
            r.ComputeGradients(batches, train!, step);
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
            if (request.Initial) source = initialReplica ??= new Replica(RunSpecOptions.Method(spec, data));
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
            // The model card's fields travel in the metadata, so `sslo checkpoint download --format pytorch` can write
            // model.json from the checkpoint alone. The replica normalises with the training split's statistics.
            var card = ModelCard.From(((Core.Models.Backbone)r.Method.Backbone).Options, train!.Stats.Mean, train.Stats.Std, init!.Spec.Method);
            SafeTensors.Write(stream, r.BackboneStateDict(), card.ToMetadata());
            byte[]? probe = null;
            if (r.ProbeStateDict() is { } probeState)
            {
                using var probeStream = new MemoryStream();
                SafeTensors.Write(probeStream, probeState, new Dictionary<string, string> { ["format"] = "pt", ["architecture"] = "linear probe on detached backbone features" });
                probe = probeStream.ToArray();
            }
            return new BackboneExport(stream.ToArray(), r.BackboneParameterNorm(), probe);
        });
    }

    public async Task<string> GetStateDigestAsync()
    {
        var (r, c) = Ready();
        return await c.RunAsync(() =>
        {
            var state = r.ReadState();
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            sha.AppendData(MemoryMarshal.AsBytes(state.Parameters.AsSpan()));
            sha.AppendData(MemoryMarshal.AsBytes(state.Buffers.AsSpan()));
            sha.AppendData(MemoryMarshal.AsBytes(state.Target.AsSpan()));
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
        // The last worker of this silo to let go of the dataset frees its decoded images and decoder threads (joined
        // off the grain's scheduler).
        var (trainHeld, testHeld) = (trainLease, testLease);
        (trainLease, testLease, train, test, hints) = (null, null, null, null, null);
        await Task.Run(() =>
        {
            trainHeld?.Dispose();
            testHeld?.Dispose();
        });
        pushBuffers = new();
        pulledState = null;
        heldVersion = -1;
        compute = null;
        c.Dispose();
    }

    /// <summary>Instrumentation: the worker's own exchange with the shards, by direction.</summary>
    private void RecordExchange(string direction, long bytes, double seconds)
    {
        var tags = TrainingMetrics.Run(init!.Spec.RunId, init.Spec.Method, "sslo.direction", direction);
        TrainingMetrics.ExchangeBytes.Add(bytes, tags);
        TrainingMetrics.ExchangeDuration.Record(seconds, tags);
    }

    private (Replica, ComputeThread) Ready() =>
        replica is not null && compute is not null ? (replica, compute)
            : throw new InvalidOperationException($"worker {this.GetPrimaryKeyString()} {WorkerErrors.NotInitialised}");

    private static List<MicroBatch> ToMicroBatches(MicroBatchWork[] work) => work.Select(w => new MicroBatch(w.Index, w.Samples, w.Seed)).ToList();


    private static ModelLayoutInfo ToInfo(ModelLayout l) => new(
        l.Parameters.Select(Info).ToArray(), l.Buffers.Select(Info).ToArray(), l.ParameterCount, l.BufferCount, l.TargetCount);

    private static TensorInfo Info(TensorSlot s) => new(s.Name, s.Offset, s.Length, s.Excluded, s.HasTarget, s.Probe);
}
