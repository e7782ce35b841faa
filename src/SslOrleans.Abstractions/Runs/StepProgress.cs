namespace SslOrleans.Abstractions.Runs;

/// <summary>One finished step, as the live progress shows it.</summary>
[GenerateSerializer, Immutable, Alias("sslo.StepProgress")]
public sealed record StepProgress(
    [property: Id(0)] long Step,
    [property: Id(1)] double Epoch,
    [property: Id(2)] double Loss,
    [property: Id(3)] double ImagesPerSec,
    [property: Id(4)] double ElapsedSeconds,
    [property: Id(5)] double? EtaSeconds,
    [property: Id(6)] double Lr,
    [property: Id(7)] double Tau,
    /// <summary>The slowest worker's forward/backward time; the rest of the step is exchange and coordination.</summary>
    [property: Id(8)] double ComputeSeconds,
    [property: Id(9)] double StepSeconds,
    /// <summary>Top-1 (percent) of the online linear probe on this step's training views (before its update).</summary>
    [property: Id(10)] double ProbeTrainTop1 = double.NaN,
    /// <summary>Workers that computed the step.</summary>
    [property: Id(11)] int Workers = 0,
    /// <summary>Micro-batches of the step computed again (their first worker was lost).</summary>
    [property: Id(12)] int MicrobatchesRedone = 0,
    /// <summary>The slowest worker's seconds getting images (decoding, or waiting for the decoders), part of its compute.</summary>
    [property: Id(13)] double DataSeconds = 0,
    /// <summary>Resident memory (MiB) of the largest process hosting a worker of the step, when its work ended: flat
    /// over a long run unless something leaks.</summary>
    [property: Id(14)] double RssMib = 0);
