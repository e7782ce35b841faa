using SslOrleans.Abstractions.Shards;
using SslOrleans.Grains.Runs;

namespace SslOrleans.Grains.Tests.Runs;

public sealed class SampleLedgerTests
{
    // Batch 32 of micro-batches of 8: four micro-batches a step.
    private static SampleLedger New() => new(32, 8);

    [Fact]
    public void Applied_steps_cover_the_stream_without_gaps()
    {
        var l = New();
        for (long t = 0; t < 5; t++)
        {
            l.Assigned(4);
            l.Applied(t, [new MicroBatchRange(0, 2), new MicroBatchRange(2, 2)]);
        }
        Assert.Equal([(0L, 160L)], l.Coverage);
        var totals = l.Totals;
        Assert.Equal((20, 20, 0L, 0L), (totals.MicrobatchesAssigned, totals.MicrobatchesCommitted, totals.SamplesLost, totals.SamplesDoubled));
    }

    [Fact]
    public void A_missing_range_counts_its_samples_as_lost_and_a_repeated_one_as_doubled()
    {
        var l = New();
        l.Applied(0, [new MicroBatchRange(0, 3)]);                                  // micro-batch 3 never applied
        l.Applied(1, [new MicroBatchRange(0, 4), new MicroBatchRange(2, 1)]);        // micro-batch 2 applied twice
        Assert.Equal(8, l.SamplesLost);
        Assert.Equal(8, l.SamplesDoubled);
        // Five ranges of micro-batches were applied, 8 of them: the count alone would hide both.
        Assert.Equal(8, l.Totals.MicrobatchesCommitted);
    }

    [Fact]
    public void Rewinding_to_a_checkpoint_removes_later_coverage_and_counts_redone_steps()
    {
        var l = New();
        for (long t = 0; t < 6; t++) l.Applied(t, [new MicroBatchRange(0, 4)]);
        l.RewindTo(4, fromStep: 6);
        Assert.Equal([(0L, 128L)], l.Coverage);
        for (long t = 4; t < 6; t++) l.Applied(t, [new MicroBatchRange(0, 4)]);
        Assert.Equal((0L, 0L, 2L), (l.SamplesLost, l.SamplesDoubled, l.Totals.StepsRedone));
    }

    [Fact]
    public void Workers_max_is_the_most_at_once()
    {
        var l = New();
        l.Workers(2);
        l.Workers(3);
        l.Workers(1);
        Assert.Equal(3, l.WorkersMax);
    }
}
