using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Abstractions.Workers;

/// <summary>One per compute device (key: "run-id/slot"). Holds a model replica and computes on its own thread.</summary>
[Alias("sslo.IWorkerGrain")]
public interface IWorkerGrain : IGrainWithStringKey
{
    [Alias("Initialize")] Task<WorkerReady> InitializeAsync(WorkerInit init);
    /// <summary>What <see cref="InitializeAsync"/> answered; null when this activation is not initialised (a fresh one:
    /// the worker was lost with its silo). A coordinator taking a run over asks its workers with it.</summary>
    [Alias("GetReady")] Task<WorkerReady?> GetReadyAsync();
    /// <summary>Seconds to compute the gradient of these micro-batches, pushing nothing: sizes a --minutes budget.</summary>
    [Alias("TimeMicroBatches")] Task<double> TimeMicroBatchesAsync(MicroBatchWork[] microBatches);
    /// <summary>Sends this replica's state (its seeded initialisation) to the shards as version 0.</summary>
    [Alias("PushInitialState")] Task PushInitialStateAsync(ShardMap shards);
    /// <summary>Pulls parameters, buffers and EMA target of <paramref name="version"/> from every shard.</summary>
    [Alias("Sync")] Task SyncAsync(ShardMap shards, long version);
    /// <summary>First pass of a global-batch loss: the embeddings of these micro-batches (float32 bytes, [micro-batch, view,
    /// sample, dim]), with the parameters of <paramref name="version"/> (pulled first when the replica holds an older one).</summary>
    [Alias("Embed")] Task<byte[]> EmbedAsync(MicroBatchWork[] microBatches, ShardMap shards, long version);
    /// <summary>Pulls the step's version when the replica holds an older one, computes the summed gradient of its
    /// micro-batches, pushes each shard its slice and, when the work carries a commit, vouches for it (a shard may apply
    /// the step in that call).</summary>
    [Alias("RunStep")] Task<StepReport> RunStepAsync(StepWork work);
    [Alias("ExtractFeatures")] Task<FeatureBlock> ExtractFeaturesAsync(FeatureRequest request);
    /// <summary>Correct predictions of the online linear probe on samples [start, start + count) of the test split.</summary>
    [Alias("ProbeCorrect")] Task<long> ProbeCorrectAsync(int start, int count);
    [Alias("ExportBackbone")] Task<BackboneExport> ExportBackboneAsync();
    /// <summary>SHA-256 of the replica's parameters and buffers: equal on every worker after each step.</summary>
    [Alias("GetStateDigest")] Task<string> GetStateDigestAsync();
    [Alias("Release")] Task ReleaseAsync();
}

/// <summary>Words of the error a worker answers when the activation a call reached holds no replica: the one that did was
/// lost (its silo died), and this call activated a fresh one.</summary>
public static class WorkerErrors
{
    public const string NotInitialised = "is not initialised";
}
