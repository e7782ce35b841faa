namespace SslOrleans.Abstractions.Runs;

[GenerateSerializer, Immutable, Alias("sslo.RunStatus")]
public sealed record RunStatus(
    [property: Id(0)] string RunId,
    [property: Id(1)] RunState State,
    [property: Id(2)] long Step,
    [property: Id(3)] long PlannedSteps,
    [property: Id(4)] string Phase,
    [property: Id(5)] StepProgress? Last,
    [property: Id(6)] string? Error,
    [property: Id(7)] RunResult? Result,
    /// <summary>The sample ledger's totals so far.</summary>
    [property: Id(8)] SampleLedgerTotals? Ledger = null,
    /// <summary>Workers the run has now.</summary>
    [property: Id(9)] int Workers = 0,
    /// <summary>Where the run lives now, one "role silo" entry each: "coordinator S…", "worker 3 S…", "shard 1 S…".</summary>
    [property: Id(10)] string[]? Roles = null,
    /// <summary>The run's method and backbone ("byol", "resnet18"); null before it started.</summary>
    [property: Id(11)] string? Method = null,
    [property: Id(12)] string? Backbone = null,
    /// <summary>How far the current phase has come when it is a long one other than training (evaluation,
    /// a checkpoint's upload); null otherwise.</summary>
    [property: Id(13)] PhaseProgress? Progress = null,
    /// <summary>When the run started (or was resumed), UTC.</summary>
    [property: Id(14)] DateTimeOffset? StartedAt = null,
    /// <summary>Where the run writes its checkpoints (a folder on the silos, or az://CONTAINER/PREFIX).</summary>
    [property: Id(15)] string? Out = null)
{
    public bool IsFinished => State is RunState.Completed or RunState.Failed or RunState.Stopped;
}
