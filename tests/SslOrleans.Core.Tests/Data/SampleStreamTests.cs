using SslOrleans.Core.Data;

namespace SslOrleans.Core.Tests.Data;

public sealed class SampleStreamTests
{
    [Fact]
    public void TakeFollowsEachEpochsPermutation()
    {
        var stream = new SampleStream(10, seed: 3);

        var taken = stream.Take(5, 20);

        int[] expected =
        [
            .. EpochOrder.Permutation(10, 3, 0)[5..],
            .. EpochOrder.Permutation(10, 3, 1),
            .. EpochOrder.Permutation(10, 3, 2)[..5],
        ];
        Assert.Equal(expected, taken);
    }

    [Fact]
    public void BatchesAcrossEpochBoundariesCoverEachSampleOncePerEpoch()
    {
        const int size = 37;
        var stream = new SampleStream(size, seed: 11);
        var all = new List<int>();

        // Batches of 10 never align with the 37-sample epochs, so several straddle a boundary.
        for (long position = 0; position < 4 * size; position += 10)
        {
            all.AddRange(stream.Take(position, (int)Math.Min(10, 4 * size - position)));
        }

        Assert.Equal(4 * size, all.Count);
        for (int epoch = 0; epoch < 4; epoch++)
        {
            Assert.Equal(Enumerable.Range(0, size), all.Skip(epoch * size).Take(size).Order());
        }

        Assert.NotEqual(all.Take(size), all.Skip(size).Take(size));
    }

    [Fact]
    public void TakeIsIndependentOfCallHistory()
    {
        var fresh = new SampleStream(50, seed: 5).Take(123, 40);
        var used = new SampleStream(50, seed: 5);
        used.Take(1000, 10);
        used.Take(0, 10);

        Assert.Equal(fresh, used.Take(123, 40));
        Assert.Empty(used.Take(77, 0));
    }

    [Fact]
    public void LocateSplitsPositionIntoEpochAndOffset()
    {
        Assert.Equal((0, 0), SampleStream.Locate(0, 60000));
        Assert.Equal((0, 59999), SampleStream.Locate(59999, 60000));
        Assert.Equal((1, 0), SampleStream.Locate(60000, 60000));
        Assert.Equal((200, 5), SampleStream.Locate(200L * 60000 + 5, 60000));
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleStream.Locate(-1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleStream.Locate(0, 0));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public void ShardRangesPartitionTheEpoch(int shards)
    {
        foreach (var size in new[] { 0, 1, 5, 10, 60000, 60001 })
        {
            int next = 0;
            var lengths = new List<int>();
            for (int shard = 0; shard < shards; shard++)
            {
                var (start, end) = SampleStream.ShardRange(size, shard, shards);
                Assert.Equal(next, start);
                Assert.True(end >= start);
                lengths.Add(end - start);
                next = end;
            }

            Assert.Equal(size, next);
            Assert.True(lengths.Max() - lengths.Min() <= 1, $"unbalanced shards for {size}: {string.Join(",", lengths)}");
        }
    }

    [Fact]
    public void ShardRangeValidatesArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleStream.ShardRange(10, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleStream.ShardRange(10, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleStream.ShardRange(10, -1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleStream.ShardRange(-1, 0, 1));
    }

    [Fact]
    public void InvalidArgumentsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SampleStream(0, 1));
        var stream = new SampleStream(10, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => stream.Take(-1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => stream.Take(0, -1));
    }
}
