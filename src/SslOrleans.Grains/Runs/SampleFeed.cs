using SslOrleans.Abstractions.Data;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Data;
using SslOrleans.Grains.Data;

namespace SslOrleans.Grains.Runs;

/// <summary>The endless sample stream of the run, read from the data shards.</summary>
public sealed class SampleFeed(IGrainFactory grains, RunSpec spec, int size)
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
            pieces.Add(grains.GetGrain<IDataShardGrain>(DataShardGrain.Key(spec.Dataset, Size, spec.DataShards, shard)).TakeAsync(spec.Seed, epoch, offset, n));
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
