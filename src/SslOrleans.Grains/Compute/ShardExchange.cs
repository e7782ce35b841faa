using SslOrleans.Abstractions.Shards;
using SslOrleans.Core.Training;

namespace SslOrleans.Grains.Compute;

/// <summary>
/// The byte traffic between one replica and the parameter shards: the initial state, a step's gradient push and
/// the pull of the new version. Payloads are cut into chunks of at most chunk_bytes (below every silo's message
/// limit), every shard is served in parallel, and every chunk of a shard is in flight at once, so that
/// serialising, the wire and the shard's work overlap. A chunk for a shard on another silo goes over the
/// tensor data plane when both silos run one; to a shard on this silo it is a local grain call,
/// which passes the array by reference. Workers and the exchange benchmark both move bytes here.
/// </summary>
public static class ShardExchange
{
    /// <summary>Shard s's [parameters | buffers | target] within a flat state. The target covers a prefix of the
    /// parameters, so its slice sits at the shard's parameter offset.</summary>
    public static Region<float>[] StateOf(ShardRange s, FlatState state) =>
    [
        new(state.Parameters, (int)s.ParamOffset, (int)s.ParamLength),
        new(state.Buffers, (int)s.BufferOffset, (int)s.BufferLength),
        new(state.Target, (int)s.ParamOffset, (int)s.TargetLength),
    ];

    /// <summary>Shard s's [gradient | buffer sums] within a replica's float64 sums.</summary>
    public static Region<double>[] GradientOf(ShardRange s, double[] gradients, double[] bufferSums) =>
    [
        new(gradients, (int)s.ParamOffset, (int)s.ParamLength),
        new(bufferSums, (int)s.BufferOffset, (int)s.BufferLength),
    ];

    /// <summary>Per shard, the chunks of the state as version 0 (run on the thread that owns the state).</summary>
    public static List<ShardChunk>[] InitialChunks(ShardMap map, FlatState state) =>
        map.Shards.Select(s => Regions.Split(StateOf(s, state), map.ChunkBytes).Select(c => new ShardChunk(0, -1, c.Offset, c.Total, c.Data)).ToList()).ToArray();

    /// <summary>Per shard, the chunks of a step's gradient sums over micro-batches <paramref name="range"/> in the run's
    /// gradient dtype, in <paramref name="reuse"/>'s arrays; shards outside <paramref name="only"/> (when given) get none.</summary>
    public static List<ShardChunk>[] GradientChunks(ShardMap map, long step, MicroBatchRange range, double[] gradients, double[] bufferSums, string dtype,
        ChunkBuffers? reuse = null, IReadOnlyCollection<int>? only = null) =>
        map.Shards.Select(s => only is not null && !only.Contains(s.Index) ? [] : GradientWire.Chunks(GradientOf(s, gradients, bufferSums), map.ChunkBytes, dtype, reuse, s.Index)
            .Select(c => new ShardChunk(step, range.First, c.Offset, c.Total, c.Data, range.Count)).ToList()).ToArray();

    public static Task InitializeAsync(IGrainFactory grains, ShardMap map, List<ShardChunk>[] chunks) =>
        SendAsync(map, chunks, (shard, chunk) => Shard(grains, map, shard).InitializeAsync(chunk));

    public static Task PushAsync(IGrainFactory grains, TensorDataPlane plane, ShardMap map, List<ShardChunk>[] chunks) =>
        SendAsync(map, chunks, (shard, chunk) => Remote(plane, map, shard) is { } to
            ? plane.PushAsync(to, map.ShardKey(shard), chunk)
            : Shard(grains, map, shard).PushAsync(chunk));

    /// <summary>Every shard's [parameters | buffers | target] of <paramref name="version"/>, as received chunks.</summary>
    public static Task<ShardChunk[][]> PullAsync(IGrainFactory grains, TensorDataPlane plane, ShardMap map, long version, string who) =>
        Task.WhenAll(map.Shards.Select(async s =>
        {
            var shard = Shard(grains, map, s.Index);
            var from = Remote(plane, map, s.Index);
            var chunks = await Task.WhenAll(TensorBytes.Chunks(s.ParamLength + s.BufferLength + s.TargetLength, map.ChunkBytes, sizeof(float))
                .Select(c => from is not null ? plane.PullAsync(from, map.ShardKey(s.Index), c.Offset, c.Count) : shard.PullAsync(c.Offset, c.Count)));
            foreach (var chunk in chunks)
                if (chunk.Version != version)
                    throw new InvalidOperationException($"shard {s.Index} is at version {chunk.Version}, {who} expected {version}");
            return chunks;
        }));

    /// <summary>Writes pulled chunks into a flat state (run on the thread that owns the state).</summary>
    public static void Write(ShardMap map, ShardChunk[][] pulled, FlatState state)
    {
        foreach (var s in map.Shards)
        {
            var parts = StateOf(s, state);
            foreach (var chunk in pulled[s.Index]) Regions.Write(TensorBytes.As<float>(chunk.Data), chunk.Offset, parts);
        }
    }

    public static long Bytes(List<ShardChunk>[] chunks) => chunks.Sum(list => list.Sum(c => (long)c.Data.Length));

    private static Task SendAsync(ShardMap map, List<ShardChunk>[] chunks, Func<int, ShardChunk, Task> send) =>
        Task.WhenAll(map.Shards.SelectMany(s => chunks[s.Index].Select(chunk => send(s.Index, chunk))));

    /// <summary>The data plane endpoint of shard k's silo when both that silo and this one run a plane and they
    /// differ; null: a grain call (local, or an Orleans message where a silo has the plane off).</summary>
    private static string? Remote(TensorDataPlane plane, ShardMap map, int index) =>
        map.DataEndpoints?[index] is { } to && plane.Endpoint is { } own && to != own ? to : null;

    private static IParameterShardGrain Shard(IGrainFactory grains, ShardMap map, int index) =>
        grains.GetGrain<IParameterShardGrain>(map.ShardKey(index));
}
