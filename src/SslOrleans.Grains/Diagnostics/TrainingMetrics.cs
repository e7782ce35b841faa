using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SslOrleans.Grains.Diagnostics;

/// <summary>
/// The project's own meter, beside Orleans' "Microsoft.Orleans". Every instrument is tagged with the run id
/// (<c>sslo.run</c>) and method (<c>sslo.method</c>); units are UCUM ("s", "By", "{image}/s"). Whoever does the work
/// records it: the coordinator (run grain) the steps and their phases, each worker its own exchange with the shards,
/// each shard its apply. docs/operations.md lists every instrument and its Prometheus name.
/// </summary>
public static class TrainingMetrics
{
    public const string MeterName = "SslOrleans.Training";
    private static readonly Meter Meter = new(MeterName, "1.1");

    /// <summary>Seconds, from 5 ms to 10 minutes: a tiny model's phase to a large model's checkpoint upload
    /// (the SDK's default buckets, 0 to 10 000, are made for milliseconds).</summary>
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    };

    // Progress
    public static readonly Counter<long> Steps = Meter.CreateCounter<long>("sslo.steps", "{step}", "optimizer steps completed");
    public static readonly Counter<long> Images = Meter.CreateCounter<long>("sslo.images", "{image}", "images trained on");
    public static readonly Gauge<double> Throughput = Meter.CreateGauge<double>("sslo.throughput", "{image}/s", "images per second of the last step");
    public static readonly Gauge<double> Loss = Meter.CreateGauge<double>("sslo.loss", "1", "mean micro-batch loss of the last step");
    public static readonly Gauge<int> Workers = Meter.CreateGauge<int>("sslo.workers", "{worker}", "workers that computed the last step");

    // Time of a step and of its parts
    public static readonly Histogram<double> StepDuration = Meter.CreateHistogram("sslo.step.duration", "s", "wall time of one synchronous step", advice: Seconds);
    /// <summary>Tagged <c>sslo.phase</c>: sample, embed, compute (the workers compute and push; redone work included), apply, pull.</summary>
    public static readonly Histogram<double> PhaseDuration = Meter.CreateHistogram("sslo.step.phase.duration", "s",
        "the coordinator's wall time of one phase of a step (sslo.phase: sample, embed, compute, apply, pull)", advice: Seconds);
    public static readonly Histogram<double> ComputeDuration = Meter.CreateHistogram("sslo.worker.compute.duration", "s",
        "one worker's forward and backward over its micro-batches of a step", advice: Seconds);

    // Exchange with the parameter shards, measured by each worker; tagged sslo.direction push or pull.
    public static readonly Counter<long> ExchangeBytes = Meter.CreateCounter<long>("sslo.exchange.bytes", "By",
        "bytes a worker pushed to (gradients) or pulled from (parameters) the parameter shards");
    public static readonly Histogram<double> ExchangeDuration = Meter.CreateHistogram("sslo.exchange.duration", "s",
        "one worker's push of its gradient slices or pull of the parameters", advice: Seconds);

    // Shards
    public static readonly Histogram<double> ApplyDuration = Meter.CreateHistogram("sslo.apply.duration", "s", "aggregation + optimizer + EMA on a shard", advice: Seconds);
    public static readonly Histogram<double> MirrorDuration = Meter.CreateHistogram("sslo.mirror.duration", "s", "copying a shard's state to its mirror on another silo after an apply", advice: Seconds);

    // Failures and redone work
    public static readonly Counter<long> MicroBatchesRedone = Meter.CreateCounter<long>("sslo.microbatches.redone", "{micro-batch}", "micro-batches computed again because their first worker was lost");
    public static readonly Counter<long> WorkersLost = Meter.CreateCounter<long>("sslo.workers.lost", "{worker}",
        "workers dropped from a step (error.type: deadline, when the call outlived the step's deadline; unreachable, when its silo was gone)");
    public static readonly Counter<long> StepsRefused = Meter.CreateCounter<long>("sslo.steps.refused", "{step}", "steps refused because their loss or gradient was not finite");
    public static readonly Counter<long> ShardsRebuilt = Meter.CreateCounter<long>("sslo.shards.rebuilt", "{shard}", "parameter shards rebuilt from their mirror after their silo was lost");

    // The tensor data plane's listener (no run: a refused peer names none); tagged sslo.reason (Compute.Refusal).
    public static readonly Counter<long> DataPlaneRefused = Meter.CreateCounter<long>("sslo.dataplane.refused", "{connection}",
        "connections or frames the tensor data plane refused (sslo.reason: unknown-kind, bad-key, too-large, memory-cap, read-timeout, connection-limit, tls)");

    // Checkpoints
    public static readonly Counter<long> Checkpoints = Meter.CreateCounter<long>("sslo.checkpoints", "{checkpoint}", "checkpoints committed");
    public static readonly Counter<long> CheckpointFailures = Meter.CreateCounter<long>("sslo.checkpoint.failures", "{checkpoint}", "background checkpoints that failed or were skipped");
    public static readonly Histogram<double> CheckpointDuration = Meter.CreateHistogram("sslo.checkpoint.duration", "s", "from the state's copy to the commit of its manifest", advice: Seconds);
    public static readonly Histogram<double> CheckpointBlocked = Meter.CreateHistogram("sslo.checkpoint.blocked", "s", "training time a checkpoint held the step loop (the copies)", advice: Seconds);
    public static readonly Counter<long> CheckpointBytes = Meter.CreateCounter<long>("sslo.checkpoint.bytes", "By", "bytes of the files of committed checkpoints");

    public static TagList Run(string runId, string method) => new() { { "sslo.run", runId }, { "sslo.method", method } };

    /// <summary>The run's tags and one more (a phase, a direction, an error type).</summary>
    public static TagList Run(string runId, string method, string key, string value) =>
        new() { { "sslo.run", runId }, { "sslo.method", method }, { key, value } };
}
