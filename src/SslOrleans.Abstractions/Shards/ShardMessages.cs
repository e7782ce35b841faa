using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Workers;

namespace SslOrleans.Abstractions.Shards;

/// <summary>Shard k owns parameters [ParamOffset, +ParamLength) and buffers [BufferOffset, +BufferLength).
/// Its EMA target covers the first TargetLength of its parameters.</summary>
[GenerateSerializer, Immutable, Alias("sslo.ShardRange")]
public sealed record ShardRange(
    [property: Id(0)] int Index,
    [property: Id(1)] long ParamOffset,
    [property: Id(2)] long ParamLength,
    [property: Id(3)] long TargetLength,
    [property: Id(4)] long BufferOffset,
    [property: Id(5)] long BufferLength);

/// <summary>How the flat state is cut over the parameter shards of a run.</summary>
[GenerateSerializer, Immutable, Alias("sslo.ShardMap")]
public sealed record ShardMap(
    [property: Id(0)] string RunId,
    [property: Id(1)] ShardRange[] Shards,
    [property: Id(2)] int ChunkBytes,
    /// <summary>Per shard, the tensor data plane endpoint of its silo, null where that silo has none; the whole array
    /// null when no silo has one. Chunks without an endpoint at both ends travel in Orleans messages.</summary>
    [property: Id(3)] string?[]? DataEndpoints = null)
{
    public string ShardKey(int index) => $"{RunId}/{index}";
}

[GenerateSerializer, Immutable, Alias("sslo.ShardConfig")]
public sealed record ShardConfig(
    [property: Id(0)] ShardRange Range,
    [property: Id(1)] TensorInfo[] Tensors,
    [property: Id(2)] RunSpec Spec);

/// <summary>
/// A piece of a flat payload, as bytes. A push carries float64 [gradient slice | buffer sums] summed over the
/// step's micro-batches [First, First + Count) (one contribution: what one worker computed in one call); a pull and
/// the initial state carry float32 [parameters | buffers | EMA target], with First = -1 and Count = 0.
/// Offset and Total count values.
/// </summary>
[GenerateSerializer, Immutable, Alias("sslo.ShardChunk")]
public sealed record ShardChunk(
    [property: Id(0)] long Version,
    [property: Id(1)] int First,
    [property: Id(2)] long Offset,
    [property: Id(3)] long Total,
    [property: Id(4)] byte[] Data,
    [property: Id(5)] int Count = 0);

/// <summary>Micro-batches [First, First + Count) of a step.</summary>
[GenerateSerializer, Immutable, Alias("sslo.MicroBatchRange")]
public sealed record MicroBatchRange(
    [property: Id(0)] int First,
    [property: Id(1)] int Count)
{
    public int End => First + Count;
    public override string ToString() => $"[{First}, {End})";
}

/// <summary>Apply step <c>Step</c>, whose micro-batches are [0, MicroBatches): the shard refuses unless the
/// contributions it holds cover exactly that range, each micro-batch once.</summary>
[GenerateSerializer, Immutable, Alias("sslo.ApplyRequest")]
public sealed record ApplyRequest(
    [property: Id(0)] long Step,
    [property: Id(1)] int MicroBatches,
    [property: Id(2)] double Lr,
    [property: Id(3)] double Tau,
    [property: Id(4)] double ProbeLr);

/// <summary>What a shard did with an apply: its version afterwards and the contributions it summed (empty when
/// the step had been applied before: a retried apply changes nothing). <c>Refused</c> names why the shard applied
/// nothing (a gradient or buffer value that is NaN or infinite); the shard then stays at the step's version.</summary>
[GenerateSerializer, Immutable, Alias("sslo.ApplyResult")]
public sealed record ApplyResult(
    [property: Id(0)] long Version,
    [property: Id(1)] MicroBatchRange[] Summed,
    [property: Id(2)] string? Refused = null,
    /// <summary>The new state was copied to the shard's mirror on another silo (false with one silo, or when the copy failed).</summary>
    [property: Id(3)] bool Mirrored = false);

/// <summary>A worker vouches for the contribution it pushed: micro-batches <c>Range</c> of <c>Apply.Step</c> reached the
/// shard whole, and every value of it is finite. A shard holding every range of the step, each vouched for, applies the
/// step at once (no call of the coordinator between push and apply); a worker whose gradient is not finite vouches
/// for nothing, so no shard applies that step.</summary>
[GenerateSerializer, Immutable, Alias("sslo.StepCommit")]
public sealed record StepCommit(
    [property: Id(0)] ApplyRequest Apply,
    [property: Id(1)] MicroBatchRange Range,
    /// <summary>The range's summed loss, kept with the applied step (<see cref="ShardHealth.LastStepLoss"/>).</summary>
    [property: Id(2)] double LossSum = 0);

/// <summary>Shard <c>Shard</c> applied the step when a worker vouched for the last of its ranges.</summary>
[GenerateSerializer, Immutable, Alias("sslo.ShardApplied")]
public sealed record ShardApplied(
    [property: Id(0)] int Shard,
    [property: Id(1)] ApplyResult Result);

/// <summary>A file written into a checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("sslo.FileDigest")]
public sealed record FileDigest(
    [property: Id(0)] string Name,
    [property: Id(1)] string Sha256,
    [property: Id(2)] long Bytes);
