namespace SslOrleans.Abstractions.Shards;

/// <summary>
/// The copy of parameter shard k's whole state (key: "run-id/k", like the shard's) on another silo than the shard's:
/// after every apply the shard stores its new state here, so that a shard lost with its silo is rebuilt from it
/// without going back to a checkpoint. A copy replaces the previous one only once all of it has arrived.
/// </summary>
[Alias("sslo.IShardMirrorGrain")]
public interface IShardMirrorGrain : IGrainWithStringKey
{
    /// <summary>One piece of the state (a shard file's bytes) at <c>Version</c>; returns the silo the mirror lives on.</summary>
    [Alias("Store")] Task<string> StoreAsync(MirrorChunk chunk);
    /// <summary>The version and size of the last complete copy; null when there is none.</summary>
    [Alias("Info")] Task<MirrorInfo?> GetInfoAsync();
    /// <summary>Bytes [offset, offset + count) of the last complete copy, which must be at <paramref name="version"/>.</summary>
    [Alias("Read")] Task<byte[]> ReadAsync(long version, long offset, int count);
    [Alias("Release")] Task ReleaseAsync();
    /// <summary>"address:port" of the tensor data plane of the silo this mirror lives on (its shard sends the copy there);
    /// null when silos move copies in Orleans messages.</summary>
    [Alias("DataEndpoint")] Task<string?> GetDataEndpointAsync();
}

[GenerateSerializer, Immutable, Alias("sslo.MirrorChunk")]
public sealed record MirrorChunk(
    [property: Id(0)] long Version,
    [property: Id(1)] long Offset,
    [property: Id(2)] long Total,
    [property: Id(3)] byte[] Data);

[GenerateSerializer, Immutable, Alias("sslo.MirrorInfo")]
public sealed record MirrorInfo(
    [property: Id(0)] long Version,
    [property: Id(1)] long Bytes,
    [property: Id(2)] string Silo);

/// <summary>Whether a shard holds its state (false: a fresh activation, its silo's state was lost) and its version.</summary>
[GenerateSerializer, Immutable, Alias("sslo.ShardHealth")]
public sealed record ShardHealth(
    [property: Id(0)] bool Configured,
    [property: Id(1)] long Version,
    [property: Id(2)] string Silo,
    /// <summary>The mean loss of step Version − 1 as its workers reported it in their commits, when the shard applied
    /// that step on their word (null otherwise): a coordinator taking over a step its predecessor did not live to
    /// record still reports its loss.</summary>
    [property: Id(3)] double? LastStepLoss = null);

/// <summary>The micro-batch ranges of a step that reached a shard completely; Version above the step: applied already.</summary>
[GenerateSerializer, Immutable, Alias("sslo.ReceivedRanges")]
public sealed record ReceivedRanges(
    [property: Id(0)] long Version,
    [property: Id(1)] MicroBatchRange[] Ranges);
