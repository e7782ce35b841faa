namespace SslOrleans.Core.Data.Images;

/// <summary>One shard of a split in index.json: its file name (relative to the split's folder), samples and bytes.</summary>
public sealed record TarShardInfo(string Name, int Samples, long Bytes);
