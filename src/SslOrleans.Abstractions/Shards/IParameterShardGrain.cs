using Orleans.Concurrency;

namespace SslOrleans.Abstractions.Shards;

/// <summary>
/// Owns one contiguous run of whole tensors of the flat state (key: "run-id/k"): parameters, optimizer
/// momentum, EMA target and batch-norm buffers. Aggregates a step's gradients, applies optimizer and EMA.
/// </summary>
[Alias("sslo.IParameterShardGrain")]
public interface IParameterShardGrain : IGrainWithStringKey
{
    [Alias("Configure")] Task ConfigureAsync(ShardConfig config);
    [Alias("Initialize")] Task InitializeAsync(ShardChunk chunk);
    /// <summary>Accepts one chunk of a contribution of the current version; a chunk held already is dropped, one of a
    /// version applied already is ignored.</summary>
    [Alias("Push")] Task PushAsync(ShardChunk chunk);
    /// <summary>The micro-batch ranges of <paramref name="step"/> of which every value has arrived, with the shard's version (past the step: applied).</summary>
    [Alias("Received")] Task<ReceivedRanges> GetReceivedAsync(long step);
    /// <summary>Whether this activation holds the shard's state: false after its silo was lost (a call then activates a fresh one).</summary>
    [Alias("Health")] Task<ShardHealth> GetHealthAsync();
    /// <summary>Takes the state of the last complete copy in the shard's mirror (after <see cref="ConfigureAsync"/>); returns its version.</summary>
    [Alias("RestoreFromMirror")] Task<long> RestoreFromMirrorAsync();
    /// <summary>Drops what arrived for <paramref name="step"/> (when the shard is at that version): a coordinator taking a
    /// run over cuts the step anew, and ranges cut by the lost one must not overlap its own.</summary>
    [Alias("ResetStep")] Task ResetStepAsync(long step);
    /// <summary>Checks that the step's contributions cover its micro-batches exactly (throws naming the ranges missing
    /// or held in part) and averages them (in micro-batch order); the result names why the step must be refused when
    /// the mean holds a NaN or an infinity. Changes nothing that a pull serves; a step applied already answers as such.</summary>
    [Alias("Prepare")] Task<ApplyResult> PrepareAsync(ApplyRequest request);
    /// <summary>Applies the prepared mean (preparing it first if needed): the optimizer, the buffers and the EMA; the
    /// version becomes Step + 1. A step applied already is a no-op; a refused one throws and changes nothing.</summary>
    [Alias("Apply")] Task<ApplyResult> ApplyAsync(ApplyRequest request);
    /// <summary>Takes a worker's word for one range of the step (<see cref="StepCommit"/>); once the shard holds every range
    /// of the step whole and vouched for, it applies the step as <see cref="ApplyAsync"/> does and returns the result.
    /// Null while ranges are missing or unvouched, and for a step applied already.</summary>
    [Alias("Commit")] Task<ApplyResult?> CommitAsync(StepCommit commit);
    /// <summary>Floats [offset, offset + count) of [parameters | buffers | target] at the current version.</summary>
    [Alias("Pull")] Task<ShardChunk> PullAsync(long offset, int count);
    /// <summary>Copies the shard's state at the current version and starts writing it as shard-k.bin of the checkpoint
    /// of <paramref name="step"/> in the background; returns once the copy is taken, so training goes on meanwhile.</summary>
    [Alias("BeginSave")] Task BeginSaveAsync(long step);
    /// <summary>Waits for the write <see cref="BeginSaveAsync"/> started and returns the file's digest. Interleaves with
    /// the step's calls: it only awaits the upload of the copy.</summary>
    [AlwaysInterleave, Alias("EndSave")] Task<FileDigest> EndSaveAsync(long step);
    [Alias("Load")] Task<long> LoadAsync(long step, FileDigest file);
    [Alias("Release")] Task ReleaseAsync();
    /// <summary>Drops this activation and keeps the mirror: the next call activates the shard elsewhere, where it takes its
    /// state from the mirror (its silo is stopping; RunGrain moves it at a step boundary).</summary>
    [Alias("Leave")] Task LeaveAsync();
    /// <summary>"address:port" of the tensor data plane of the silo this shard runs on; null when silos move chunks in Orleans messages.</summary>
    [Alias("DataEndpoint")] Task<string?> GetDataEndpointAsync();
}
