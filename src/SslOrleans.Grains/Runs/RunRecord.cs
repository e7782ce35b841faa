using SslOrleans.Abstractions.Runs;
using SslOrleans.Grains.Placement;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// What a run's coordinator keeps in grain storage (provider <see cref="StorageName"/>), written when the run starts,
/// after every step and when it ends: enough for a new activation on another silo to go on with the workers and
/// shards that survived. The models' state itself lives in the shards, their mirrors and the checkpoints.
/// </summary>
[GenerateSerializer, Alias("sslo.RunRecord")]
public sealed class RunRecord
{
    /// <summary>The grain storage provider of runs, the run registry and the slot register.</summary>
    public const string StorageName = "sslo-runs";

    [Id(0)] public RunSpec? Spec { get; set; }
    [Id(1)] public RunState State { get; set; } = RunState.Pending;
    /// <summary>Steps applied.</summary>
    [Id(2)] public long Step { get; set; }
    [Id(3)] public long PlannedSteps { get; set; }
    [Id(4)] public string? Error { get; set; }
    [Id(5)] public RunResult? Result { get; set; }
    [Id(6)] public int NextWorkerNumber { get; set; }
    [Id(7)] public List<PersistedWorker> Workers { get; set; } = [];
    [Id(8)] public SampleLedgerTotals? Ledger { get; set; }
    [Id(9)] public int? ScaleTarget { get; set; }
    /// <summary>What happened to the run's workers and shards, and its coordinator's moves (the newest 200).</summary>
    [Id(10)] public List<string> Events { get; set; } = [];
    /// <summary>Times a coordinator took the run over after the previous one's silo was lost.</summary>
    [Id(11)] public int Takeovers { get; set; }
    [Id(12)] public bool StopRequested { get; set; }
    /// <summary>The silo each parameter shard lives on, as the coordinator last saw it.</summary>
    [Id(13)] public string[] ShardSilos { get; set; } = [];
    /// <summary>When the run started (or was resumed): what `sslo runs` and the run page show.</summary>
    [Id(14)] public DateTimeOffset? StartedAt { get; set; }
    /// <summary>The newest finished steps (at most <see cref="RecentStepsKept"/>): a coordinator that takes over keeps
    /// answering for them, so a watcher that missed the push of a step its predecessor finished still gets it.</summary>
    [Id(15)] public List<StepProgress> RecentSteps { get; set; } = [];

    public const int RecentStepsKept = 100;
}

/// <summary>Worker <c>Number</c> of the run on slot <c>SlotIndex</c> of <c>Silo</c>.</summary>
[GenerateSerializer, Immutable, Alias("sslo.PersistedWorker")]
public sealed record PersistedWorker(
    [property: Id(0)] int Number,
    [property: Id(1)] SiloAddress Silo,
    [property: Id(2)] int SlotIndex,
    [property: Id(3)] DeviceSlot Slot)
{
    public WorkerSlot ToSlot() => new(Number, Silo, SlotIndex, Slot);
}
