namespace SslOrleans.Abstractions.Runs;

/// <summary>What the run's sample ledger counts: micro-batches handed out, applied and computed again; samples of the
/// applied steps missing from or used twice in the stream; steps computed again after a return to a checkpoint.</summary>
[GenerateSerializer, Immutable, Alias("sslo.SampleLedgerTotals")]
public sealed record SampleLedgerTotals(
    [property: Id(0)] long MicrobatchesAssigned,
    [property: Id(1)] long MicrobatchesCommitted,
    [property: Id(2)] long MicrobatchesRedone,
    [property: Id(3)] long SamplesLost,
    [property: Id(4)] long SamplesDoubled,
    [property: Id(5)] long StepsRedone,
    [property: Id(6)] int WorkersMax);
