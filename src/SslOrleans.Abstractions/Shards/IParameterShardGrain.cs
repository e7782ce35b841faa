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
    [Alias("Push")] Task PushAsync(ShardChunk chunk);
    /// <summary>Averages the step's contributions (in slot order), applies the optimizer and the EMA; returns the new version.</summary>
    [Alias("Apply")] Task<long> ApplyAsync(ApplyRequest request);
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
    /// <summary>"address:port" of the tensor data plane of the silo this shard runs on; null when silos move chunks in Orleans messages.</summary>
    [Alias("DataEndpoint")] Task<string?> GetDataEndpointAsync();
}
