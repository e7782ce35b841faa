using SslOrleans.Abstractions.Data;
using SslOrleans.Core.Data;

namespace SslOrleans.Grains.Data;

/// <summary>Serves its range of every epoch's seeded order. Key: "dataset/size/shards/k".</summary>
public sealed class DataShardGrain : Grain, IDataShardGrain
{
    private readonly int size;
    private readonly int start;
    private readonly int end;
    private (long Seed, int Epoch, int[] Order)? cached;

    public DataShardGrain()
    {
        var key = this.GetPrimaryKeyString();
        var parts = key.Split('/');
        if (parts.Length != 4 || !int.TryParse(parts[1], out size) || !int.TryParse(parts[2], out var shards) || !int.TryParse(parts[3], out var k))
            throw new ArgumentException($"data shard key '{key}' is not 'dataset/size/shards/k'");
        (start, end) = SampleStream.ShardRange(size, k, shards);
    }

    public static string Key(string dataset, int size, int shards, int k) => $"{dataset}/{size}/{shards}/{k}";

    public Task<int[]> TakeAsync(long seed, int epoch, int offset, int count)
    {
        if (offset < start || count < 0 || offset + count > end)
            throw new ArgumentOutOfRangeException(nameof(offset), $"positions [{offset}, {offset + count}) are not inside this shard's [{start}, {end})");
        if (cached is not { } c || c.Seed != seed || c.Epoch != epoch)
        {
            // The permutation of one epoch; only this shard's part of it is ever served from here.
            cached = c = (seed, epoch, EpochOrder.Permutation(size, (int)seed, epoch));
        }
        return Task.FromResult(c.Order.AsSpan(offset, count).ToArray());
    }

    public Task<(int Start, int End)> GetRangeAsync() => Task.FromResult((start, end));
}
