namespace SslOrleans.Core.Data.Images;

/// <summary>Where one image member's bytes lie in its shard, found once when the shards are indexed.</summary>
internal readonly record struct TarMember(int Shard, string Name, long Offset, long Length, int Label);
