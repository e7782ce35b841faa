using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SslOrleans.Grains.Diagnostics;

/// <summary>The project's own meter, beside Orleans' "Microsoft.Orleans". Every instrument is tagged with the run id.</summary>
public static class TrainingMetrics
{
    public const string MeterName = "SslOrleans.Training";
    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> Steps = Meter.CreateCounter<long>("sslo.steps", description: "optimizer steps completed");
    public static readonly Counter<long> Images = Meter.CreateCounter<long>("sslo.images", description: "images trained on");
    public static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>("sslo.step.duration", "s", "wall time of one synchronous step");
    public static readonly Histogram<double> Loss = Meter.CreateHistogram<double>("sslo.loss", description: "mean micro-batch loss of a step");
    public static readonly Counter<long> BytesPushed = Meter.CreateCounter<long>("sslo.exchange.bytes", "By", "gradient bytes pushed to parameter shards");
    public static readonly Counter<long> MicroBatchesRedone = Meter.CreateCounter<long>("sslo.microbatches.redone", "{micro-batch}", "micro-batches computed again because their first worker was lost");
    public static readonly Histogram<double> ApplyDuration = Meter.CreateHistogram<double>("sslo.apply.duration", "s", "aggregation + optimizer + EMA on a shard");
    public static readonly Histogram<double> MirrorDuration = Meter.CreateHistogram<double>("sslo.mirror.duration", "s", "copying a shard's state to its mirror on another silo after an apply");
    public static readonly Counter<long> ShardsRebuilt = Meter.CreateCounter<long>("sslo.shards.rebuilt", "{shard}", "parameter shards rebuilt from their mirror after their silo was lost");
    public static readonly Counter<long> Checkpoints = Meter.CreateCounter<long>("sslo.checkpoints", description: "checkpoints committed");
    public static readonly Counter<long> CheckpointFailures = Meter.CreateCounter<long>("sslo.checkpoint.failures", description: "background checkpoints that failed or were skipped");
    public static readonly Histogram<double> CheckpointDuration = Meter.CreateHistogram<double>("sslo.checkpoint.duration", "s", "from the state's copy to the commit of its manifest");
    public static readonly Histogram<double> CheckpointBlocked = Meter.CreateHistogram<double>("sslo.checkpoint.blocked", "s", "training time a checkpoint held the step loop (the copies)");

    public static TagList Run(string runId, string method) => new() { { "sslo.run", runId }, { "sslo.method", method } };
}
