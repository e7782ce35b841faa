using SslOrleans.Abstractions.Data;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Data;
using SslOrleans.Grains.Data;

namespace SslOrleans.Grains.Runs;

/// <summary>The endless sample stream of the run, read from the data shards.</summary>
/// <remarks>Data shard k is first activated on <c>siloFor(k)</c> when given (shards are shared by runs over the same dataset).</remarks>
public sealed class SampleFeed(IGrainFactory grains, RunSpec spec, int size, Func<int, SiloAddress>? siloFor = null)
{
    public int Size { get; } = size;

    public async Task<int[]> TakeAsync(long position, int count)
    {
        var pieces = new List<Task<int[]>>();
        while (count > 0)
        {
            var (epoch, offset) = SampleStream.Locate(position, Size);
            int shard = ShardOf(offset);
            var (_, end) = SampleStream.ShardRange(Size, shard, spec.DataShards);
            int n = Math.Min(count, end - offset);
            var grain = grains.GetGrain<IDataShardGrain>(DataShardGrain.Key(spec.Dataset, Size, spec.DataShards, shard));
            pieces.Add(Placement.PlacementHint.On(siloFor?.Invoke(shard), () => grain.TakeAsync(spec.Seed, epoch, offset, n)));
            position += n;
            count -= n;
        }
        return (await Task.WhenAll(pieces)).SelectMany(x => x).ToArray();
    }

    private int ShardOf(int offset)
    {
        for (int k = 0; k < spec.DataShards; k++)
        {
            var (start, end) = SampleStream.ShardRange(Size, k, spec.DataShards);
            if (offset >= start && offset < end) return k;
        }
        throw new InvalidOperationException($"offset {offset} is in no data shard of {Size} samples");
    }
}
