using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Grains.Shards;

/// <summary>Holds the last complete copy of one parameter shard's state (see <see cref="IShardMirrorGrain"/>).</summary>
public sealed class ShardMirrorGrain(ILocalSiloDetails silo, Compute.TensorDataPlane dataPlane) : Grain, IShardMirrorGrain
{
    private (long Version, byte[] Bytes)? complete;
    private (long Version, byte[] Bytes, HashSet<long> Offsets, long Received)? arriving;
    // The array of the copy before the complete one: a shard sends a copy of the same size after every step, and tens of
    // megabytes allocated (and zeroed) anew each time cost more than the copy itself.
    private byte[]? spare;

    public Task<string> StoreAsync(MirrorChunk chunk)
    {
        if (chunk.Total < 0 || chunk.Total > Array.MaxLength || chunk.Offset < 0 || chunk.Offset + chunk.Data.Length > chunk.Total)
            throw new ArgumentException($"mirror {this.GetPrimaryKeyString()}: bytes [{chunk.Offset}, +{chunk.Data.Length}) do not fit a copy of {chunk.Total}");
        var here = Task.FromResult(silo.SiloAddress.ToString());
        if (complete is { } done && chunk.Version <= done.Version) return here; // a late piece of an older copy
        if (arriving is not { } a || a.Version != chunk.Version || a.Bytes.Length != chunk.Total)
        {
            if (arriving is { } newer && newer.Version > chunk.Version) return here;
            var bytes = spare is { } reused && reused.LongLength == chunk.Total ? reused : new byte[chunk.Total];
            spare = null;
            a = (chunk.Version, bytes, [], 0);
        }
        // A piece sent again (a retried store) counts once; pieces of one copy are cut the same way every time.
        if (a.Offsets.Add(chunk.Offset))
        {
            chunk.Data.CopyTo(a.Bytes, chunk.Offset);
            a.Received += chunk.Data.Length;
        }
        if (a.Received >= a.Bytes.Length)
        {
            spare = complete?.Bytes;
            complete = (a.Version, a.Bytes);
            arriving = null;
        }
        else arriving = a;
        return here;
    }

    public Task<MirrorInfo?> GetInfoAsync() =>
        Task.FromResult(complete is { } c ? new MirrorInfo(c.Version, c.Bytes.LongLength, silo.SiloAddress.ToString()) : null);

    public Task<byte[]> ReadAsync(long version, long offset, int count)
    {
        if (complete is not { } c || c.Version != version)
            throw new InvalidOperationException($"mirror {this.GetPrimaryKeyString()}: holds {(complete is { } h ? $"version {h.Version}" : "no copy")}, asked for version {version}");
        if (offset < 0 || count < 0 || offset + count > c.Bytes.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, +{count}) are outside the copy's {c.Bytes.Length}");
        return Task.FromResult(c.Bytes.AsSpan((int)offset, count).ToArray());
    }

    public Task<string?> GetDataEndpointAsync() => Task.FromResult(dataPlane.Endpoint);

    public Task ReleaseAsync()
    {
        complete = null;
        arriving = null;
        spare = null;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
