namespace SslOrleans.Abstractions.Runs;

/// <summary>The outcome of a run: the CLI prints it as its last stdout line.</summary>
[GenerateSerializer, Immutable, Alias("sslo.RunResult")]
public sealed record RunResult(
    [property: Id(0)] string Method,
    [property: Id(1)] long Steps,
    [property: Id(2)] double Epochs,
    [property: Id(3)] double ImagesPerSec,
    [property: Id(4)] double LossFirst,
    [property: Id(5)] double LossLast,
    [property: Id(6)] double? KnnTop1,
    [property: Id(7)] double? KnnTop1Init,
    [property: Id(8)] double ParamL2,
    [property: Id(9)] string Checkpoint,
    [property: Id(10)] int Workers,
    [property: Id(11)] double TrainSeconds,
    [property: Id(12)] double EvalSeconds,
    [property: Id(13)] string State,
    /// <summary>Sum over steps of the slowest worker's compute time: train_seconds minus this is exchange and coordination.</summary>
    [property: Id(14)] double ComputeSeconds,
    /// <summary>Test-split top-1 (percent) of the online linear probe trained alongside pretraining (solo-learn's online eval).</summary>
    [property: Id(15)] double? OnlineProbeTop1 = null,
    /// <summary>How many distinct silos hosted the run's workers.</summary>
    [property: Id(16)] int Silos = 1,
    /// <summary>Worker w's silo and device slot, e.g. "S127.0.0.1:11111:123456789 cpu@1".</summary>
    [property: Id(17)] string[]? Placement = null,
    /// <summary>Worker w's numerics self-check and its process's oneDNN ISA decision, e.g. "11 layer ops at 1
    /// threads ×3 in 180 ms, worst error 0.51 of its bound (…); oneDNN ISA not capped (…)".</summary>
    [property: Id(18)] string[]? Numerics = null,
    /// <summary>What went wrong without failing the run: checkpoints skipped or failed in the background, checkpoints
    /// skipped on resume because they did not verify (naming the file and the reason).</summary>
    [property: Id(19)] string[]? Warnings = null,
    /// <summary>Checkpoints this invocation committed.</summary>
    [property: Id(20)] int Checkpoints = 0,
    /// <summary>Seconds the step loop waited while checkpoints were taken (the shards' copies and the backbone export),
    /// over every checkpoint taken during training; the uploads themselves run beside training.</summary>
    [property: Id(21)] double CheckpointBlockedSeconds = 0,
    /// <summary>Micro-batches summed into applied steps (steps × batch / micro_batch when nothing was lost).</summary>
    [property: Id(22)] long MicrobatchesCommitted = 0,
    /// <summary>Micro-batches computed again because their first worker was lost or its push did not arrive.</summary>
    [property: Id(23)] long MicrobatchesRedone = 0,
    /// <summary>Samples of the stream up to the last applied step that no applied step used (0 unless the ledger is broken).</summary>
    [property: Id(24)] long SamplesLost = 0,
    /// <summary>Samples that applied steps used more than once (0 unless the ledger is broken).</summary>
    [property: Id(25)] long SamplesDoubled = 0,
    /// <summary>The most workers the run had at once.</summary>
    [property: Id(26)] int WorkersMax = 0,
    /// <summary>Steps computed again after the run went back to a checkpoint (a lost coordinator or shard whose state
    /// no survivor held).</summary>
    [property: Id(27)] long StepsRedone = 0,
    /// <summary>Sum over steps of the slowest worker's seconds getting images (decoding, or waiting for the decoders):
    /// the share of compute_seconds the data path held up training.</summary>
    [property: Id(28)] double DataSeconds = 0);
