using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Abstractions.Workers;

/// <summary>Worker <c>Slot</c> of the run, on the device slot the run placed it on: its device ("cpu", "cuda:0")
/// and the libtorch threads the silo gives that slot (the spec's threads_per_worker, if set, wins).</summary>
[GenerateSerializer, Immutable, Alias("sslo.WorkerInit")]
public sealed record WorkerInit(
    [property: Id(0)] RunSpec Spec,
    [property: Id(1)] int Slot,
    [property: Id(2)] int Threads,
    [property: Id(3)] string Device = "cpu");

/// <summary>One micro-batch handed to a worker: its index in the step, its samples and the seed of its views.</summary>
[GenerateSerializer, Immutable, Alias("sslo.MicroBatchWork")]
public sealed record MicroBatchWork(
    [property: Id(0)] int Index,
    [property: Id(1)] int[] Samples,
    [property: Id(2)] ulong Seed);

/// <summary>Micro-batches of one step for one worker: a contiguous range of the step's micro-batches, computed as
/// one contribution and pushed to every shard, or only to <c>OnlyShards</c> when the work is redone for shards that
/// lack it.</summary>
[GenerateSerializer, Immutable, Alias("sslo.StepWork")]
public sealed record StepWork(
    [property: Id(0)] long Step,
    [property: Id(1)] MicroBatchWork[] MicroBatches,
    [property: Id(2)] ShardMap Shards,
    /// <summary>For a global-batch loss: the embeddings of every micro-batch of the step, float32
    /// [micro-batch, view, sample, dim] as bytes, in micro-batch order. Null for per-sample losses.</summary>
    [property: Id(3)] byte[]? Embeddings = null,
    [property: Id(4)] int StepMicroBatches = 0,
    [property: Id(5)] int[]? OnlyShards = null,
    /// <summary>The step's apply: after its pushes the worker vouches for its range with it (<see cref="StepCommit"/>),
    /// unless its gradient is not finite. Null: push only, the coordinator applies.</summary>
    [property: Id(6)] ApplyRequest? Commit = null)
{
    /// <summary>The contribution's micro-batches; they must be consecutive.</summary>
    public MicroBatchRange Range
    {
        get
        {
            for (int i = 1; i < MicroBatches.Length; i++)
                if (MicroBatches[i].Index != MicroBatches[0].Index + i)
                    throw new ArgumentException($"step {Step}: a worker's micro-batches must be consecutive, got {string.Join(", ", MicroBatches.Select(m => m.Index))}");
            return MicroBatches.Length == 0 ? throw new ArgumentException($"step {Step}: work without micro-batches") : new MicroBatchRange(MicroBatches[0].Index, MicroBatches.Length);
        }
    }
}

[GenerateSerializer, Immutable, Alias("sslo.StepReport")]
public sealed record StepReport(
    [property: Id(0)] int Slot,
    [property: Id(1)] double LossSum,
    [property: Id(2)] int MicroBatches,
    [property: Id(3)] double ComputeSeconds,
    [property: Id(4)] long BytesPushed,
    [property: Id(5)] long ProbeCorrect = 0,
    /// <summary>Of the compute seconds, those spent getting images (decoding, or waiting for the decoders), the
    /// embedding pass of a global-batch loss included.</summary>
    [property: Id(6)] double DataSeconds = 0,
    /// <summary>The shards that applied the step when this worker vouched for its range.</summary>
    [property: Id(7)] ShardApplied[]? Applied = null,
    /// <summary>Why this worker vouched for nothing: the first gradient or buffer value that is NaN or infinite (or too
    /// large for the gradient's wire type), named; null when all are finite.</summary>
    [property: Id(8)] string? NonFinite = null,
    /// <summary>Seconds this call spent pulling the step's version before computing (0 when the replica held it).</summary>
    [property: Id(9)] double PullSeconds = 0,
    /// <summary>Resident memory of the worker's process when the call ended, in bytes.</summary>
    [property: Id(10)] long RssBytes = 0);

public enum FeatureSplit { Train, Test }

/// <summary>Backbone features of samples [Start, Start + Count) of a split; Initial asks for the seed's untrained backbone.</summary>
[GenerateSerializer, Immutable, Alias("sslo.FeatureRequest")]
public sealed record FeatureRequest(
    [property: Id(0)] FeatureSplit Split,
    [property: Id(1)] int Start,
    [property: Id(2)] int Count,
    [property: Id(3)] bool Initial);

/// <summary>Row-major float32 features as bytes, with the samples' labels.</summary>
[GenerateSerializer, Immutable, Alias("sslo.FeatureBlock")]
public sealed record FeatureBlock(
    [property: Id(0)] int Start,
    [property: Id(1)] int Count,
    [property: Id(2)] int Dim,
    [property: Id(3)] byte[] Data,
    [property: Id(4)] byte[] Labels);

/// <summary>A worker's answer to initialisation: the model layout and the dataset sizes it sees.</summary>
[GenerateSerializer, Immutable, Alias("sslo.WorkerReady")]
public sealed record WorkerReady(
    [property: Id(0)] ModelLayoutInfo Layout,
    [property: Id(1)] int TrainCount,
    [property: Id(2)] int TestCount,
    [property: Id(3)] int Classes,
    [property: Id(4)] int Threads,
    [property: Id(5)] string Silo,
    /// <summary>The loss couples the global batch: every step first gathers the workers' embeddings.</summary>
    [property: Id(6)] bool GlobalBatchLoss = false,
    /// <summary>Width of the backbone's pooled features.</summary>
    [property: Id(7)] int FeatureDim = 0,
    /// <summary>The worker's numerics self-check (what it ran, how long, the worst error against its bound) and the
    /// oneDNN ISA decision of its process.</summary>
    [property: Id(8)] string Numerics = "");

/// <summary>The exported backbone (safetensors bytes) and the L2 norm of its parameters.</summary>
[GenerateSerializer, Immutable, Alias("sslo.BackboneExport")]
public sealed record BackboneExport(
    [property: Id(0)] byte[] SafeTensors,
    [property: Id(1)] double ParamL2,
    /// <summary>The online linear probe as safetensors bytes; null when the run trains none.</summary>
    [property: Id(2)] byte[]? OnlineProbe = null);
