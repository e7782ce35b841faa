using SslOrleans.Abstractions.Shards;
using SslOrleans.Grains.Shards;

namespace SslOrleans.Grains.Tests.Shards;

/// <summary>A shard's bookkeeping of one step: ranges, not counts, decide what is missing or doubled.</summary>
public sealed class StepContributionsTests
{
    private const int Values = 10; // the shard's [gradient | buffers] length; chunks of 4, 4 and 2 values

    private static IEnumerable<ShardChunk> Chunks(int first, int count) =>
        new[] { (0L, 4), (4L, 4), (8L, 2) }.Select(c => new ShardChunk(3, first, c.Item1, Values, new byte[c.Item2 * 8], count));

    private static void Push(StepContributions c, int first, int count, int chunks = 3)
    {
        foreach (var chunk in Chunks(first, count).Take(chunks)) c.Add(chunk, chunk.Data.Length / 8);
    }

    [Fact]
    public void Complete_ranges_cover_the_step()
    {
        var c = new StepContributions(Values);
        Push(c, 4, 4);
        Push(c, 0, 4);
        Assert.Equal([new MicroBatchRange(0, 4), new MicroBatchRange(4, 4)], c.Complete);
        Assert.Empty(c.Gaps(8));
        Assert.Empty(c.Incomplete);
    }

    [Fact]
    public void A_range_sent_twice_and_another_never_sent_is_a_gap_though_the_count_matches()
    {
        // Two copies of [0, 4) carry as many values as [0, 4) and [4, 8): a count would call the step complete.
        var c = new StepContributions(Values);
        Push(c, 0, 4);
        Push(c, 0, 4);
        Assert.Equal(3, c.DuplicateChunks);
        Assert.Equal([new MicroBatchRange(4, 4)], c.Gaps(8));
        Assert.Single(c.InOrder());
    }

    [Fact]
    public void A_range_that_arrived_in_part_is_incomplete_and_its_chunks_are_not_summed()
    {
        var c = new StepContributions(Values);
        Push(c, 0, 4);
        Push(c, 4, 4, chunks: 2); // the worker was lost before its last chunk
        Assert.Equal([new MicroBatchRange(4, 4)], c.Incomplete);
        Assert.Equal([new MicroBatchRange(4, 4)], c.Gaps(8));
        Assert.Single(c.InOrder());
        // Redone: the chunks held are dropped, the missing one completes the range.
        Push(c, 4, 4);
        Assert.Equal(2, c.DuplicateChunks);
        Assert.Empty(c.Gaps(8));
        Assert.Empty(c.Incomplete);
    }

    [Fact]
    public void An_overlapping_range_is_refused_and_changes_nothing()
    {
        var c = new StepContributions(Values);
        Push(c, 0, 4);
        var e = Assert.Throws<InvalidOperationException>(() => Push(c, 2, 4));
        Assert.Contains("[2, 6) overlap [0, 4)", e.Message);
        Assert.Throws<InvalidOperationException>(() => Push(c, 0, 2));
        Assert.Equal([new MicroBatchRange(0, 4)], c.Complete);
    }

    [Fact]
    public void Gaps_name_every_missing_range_in_order()
    {
        var c = new StepContributions(Values);
        Push(c, 2, 2);
        Push(c, 6, 1);
        Assert.Equal([new MicroBatchRange(0, 2), new MicroBatchRange(4, 2), new MicroBatchRange(7, 3)], c.Gaps(10));
    }

    [Fact]
    public void A_chunk_that_straddles_another_of_its_range_is_refused()
    {
        var c = new StepContributions(Values);
        c.Add(new ShardChunk(3, 0, 0, Values, new byte[4 * 8], 2), 4);
        Assert.Throws<InvalidOperationException>(() => c.Add(new ShardChunk(3, 0, 2, Values, new byte[4 * 8], 2), 4));
    }
}
