namespace SslOrleans.Core.Data.Images;

/// <summary>One split in index.json: its sample count and its shards in order.</summary>
public sealed record TarSplitIndex(int Samples, IReadOnlyList<TarShardInfo> Shards);
