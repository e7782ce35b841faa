namespace SslOrleans.Grains.Compute;

/// <summary>
/// Payload arrays kept from one step to the next, by (shard, chunk index): a worker sends hundreds of megabytes
/// a step, and fresh large arrays each time cost the garbage collector more than the copies. Reusing the arrays
/// of step t in step t + 1 is safe because a shard lets go of step t's chunks when it applies step t, which the
/// run awaits before step t + 1 starts. Used only from the thread that builds the chunks.
/// </summary>
public sealed class ChunkBuffers
{
    private readonly Dictionary<(int Key, int Index), byte[]> arrays = [];

    public byte[] Get(int key, int index, int length)
    {
        if (!arrays.TryGetValue((key, index), out var array) || array.Length != length)
            arrays[(key, index)] = array = new byte[length];
        return array;
    }
}
