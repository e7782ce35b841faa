using SslOrleans.Abstractions.Data;
using SslOrleans.Core.Data;

namespace SslOrleans.Grains.Data;

/// <summary>Serves its range of every epoch's seeded order. Key: "dataset/size/shards/k".</summary>
public sealed class DataShardGrain : Grain, IDataShardGrain
{
    private readonly int size;
    private readonly int start;
    private readonly int end;
    private SampleStream? stream; // the run's sample stream, which caches the epoch permutations

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
        if (stream is null || stream.Seed != (int)seed) stream = new SampleStream(size, (int)seed);
        return Task.FromResult(stream.Take((long)epoch * size + offset, count));
    }
}
