using SslOrleans.Grains.Runs;
using SslOrleans.Grains.Tests.Runs;

namespace SslOrleans.Grains.Tests.Data;

[Collection(ClusterCollection.Name)]
public sealed class SampleFeedTests(ClusterFixture fixture)
{
    private const int Size = 60000;

    /// <summary>Per worker, the samples it trains on in one epoch; and the epoch's global order (step by step, micro-batch by micro-batch).</summary>
    private async Task<(List<int>[] PerWorker, List<int> Order)> EpochAsync(int workers, long seed)
    {
        var order = new List<int>();
        var spec = RunHarness.Tiny("feed", workers) with { Batch = 6000, MicroBatch = 500, DataShards = 7, Seed = seed };
        var feed = new SampleFeed(fixture.Cluster.Client, spec, Size);
        var perWorker = Enumerable.Range(0, workers).Select(_ => new List<int>()).ToArray();
        for (long step = 0; step < Size / spec.Batch; step++)
        {
            var samples = await feed.TakeAsync(step * spec.Batch, spec.Batch);
            var assigned = RunPlan.Assign(RunPlan.MicroBatches(spec, step, samples), workers);
            for (int w = 0; w < workers; w++) perWorker[w].AddRange(assigned[w].SelectMany(mb => mb.Samples));
            order.AddRange(assigned.SelectMany(a => a).OrderBy(mb => mb.Index).SelectMany(mb => mb.Samples));
        }
        return (perWorker, order);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task An_epoch_covers_every_sample_exactly_once(int workers)
    {
        var (perWorker, _) = await EpochAsync(workers, seed: 1);
        var all = perWorker.SelectMany(x => x).ToList();
        Assert.Equal(Size, all.Count);
        Assert.Equal(Size, all.Distinct().Count());
        Assert.All(perWorker, w => Assert.NotEmpty(w));
    }

    [Fact]
    public async Task The_order_depends_on_the_seed_and_not_on_the_workers()
    {
        var (_, a) = await EpochAsync(2, seed: 4);
        var (_, b) = await EpochAsync(3, seed: 4);
        var (_, c) = await EpochAsync(2, seed: 5);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public async Task A_batch_crossing_the_epoch_end_takes_the_next_epochs_order()
    {
        var spec = RunHarness.Tiny("cross") with { DataShards = 4 };
        var feed = new SampleFeed(fixture.Cluster.Client, spec, Size);
        var tail = await feed.TakeAsync(Size - 10, 20);
        Assert.Equal(20, tail.Length);
        Assert.Equal(await feed.TakeAsync(Size, 10), tail[10..]);
        Assert.Equal(await feed.TakeAsync(Size - 10, 10), tail[..10]);
    }
}
