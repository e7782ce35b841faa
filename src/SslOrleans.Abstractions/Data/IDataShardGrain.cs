namespace SslOrleans.Abstractions.Data;

/// <summary>
/// Serves one shard of a dataset's epoch order (key: "dataset/size/shards/k"): the positions
/// [Start, End) of every epoch's seeded permutation. Every sample is served once per epoch.
/// </summary>
[Alias("sslo.IDataShardGrain")]
public interface IDataShardGrain : IGrainWithStringKey
{
    /// <summary>Sample indices at epoch positions [offset, offset + count), which must lie in this shard.</summary>
    [Alias("Take")] Task<int[]> TakeAsync(long seed, int epoch, int offset, int count);
}
