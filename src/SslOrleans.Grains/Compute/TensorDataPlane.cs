using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Grains.Compute;

/// <summary>
/// Raw TCP beside Orleans for the tensor chunks that cross between silos. An Orleans message with a byte payload
/// is copied into the sender's buffers, through the socket, into the receiver's pipe and into a new array; here a
/// chunk is written to the socket from its array and read into the array the shard keeps. Orleans still carries
/// every decision: a frame is a push or pull call on a parameter shard, which this silo's end of the plane makes as
/// a local grain call (payloads pass by reference), so the shard stays the one owner of its state and the order
/// of a step is unchanged (a push is acknowledged after the shard took it). A shard's copy of its state to its mirror on
/// another silo travels the same way (a mirror frame, stored by a local call on the mirror's silo). One listener per silo on its address,
/// port <c>SslTraining:DataPort</c> (0: any free one); like Orleans' own silo port it trusts its network.
/// </summary>
public sealed class TensorDataPlane(IGrainFactory grains, ILocalSiloDetails silo, ILogger<TensorDataPlane> logger, TensorDataPlaneOptions options) : IDisposable
{
    private const byte Push = 1, Pull = 2, Mirror = 3, Ok = 0, Error = 1;
    private const int HeaderBytes = 1 + 8 + 4 + 8 + 8 + 4 + 4; // kind, version, first, offset, total, length, count; then the key
    private const int MaxPayloadBytes = 1 << 30; // a chunk is chunk_bytes at most; anything larger is not a frame of ours

    private readonly object gate = new();
    private readonly ConcurrentDictionary<string, ConcurrentBag<Connection>> idle = new();
    private readonly CancellationTokenSource stopping = new();
    private TcpListener? listener;
    private string? endpoint;

    /// <summary>Bytes of chunk payloads this silo sent and received through the plane.</summary>
    public long BytesSent => Interlocked.Read(ref bytesSent);
    public long BytesReceived => Interlocked.Read(ref bytesReceived);
    private long bytesSent, bytesReceived;

    /// <summary>"address:port" of this silo's listener (started on first use), or null when the plane is off.</summary>
    public string? Endpoint
    {
        get
        {
            if (!options.Enabled) return null;
            lock (gate)
            {
                if (endpoint is not null) return endpoint;
                var address = silo.SiloAddress.Endpoint.Address;
                listener = new TcpListener(address, options.Port);
                listener.Start(backlog: 256);
                endpoint = $"{address}:{((IPEndPoint)listener.LocalEndpoint).Port}";
                _ = Task.Run(() => AcceptAsync(listener));
                logger.LogInformation("Tensor data plane listening on {Endpoint}", endpoint);
                return endpoint;
            }
        }
    }

    /// <summary>Dialling a peer: a silo that does not answer within this is unreachable.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>One frame there and its answer back: a chunk is chunk_bytes at most, which takes seconds even on a slow
    /// link; a peer that stays silent longer is hung (the step's deadline would otherwise be the only limit).</summary>
    public static readonly TimeSpan FrameTimeout = TimeSpan.FromMinutes(2);

    /// <summary>Sends one pushed chunk to a shard on another silo; returns when that shard has taken it.</summary>
    public Task PushAsync(string to, string shardKey, ShardChunk chunk) => WithConnectionAsync(to, async (c, token) =>
    {
        await c.WriteAsync(Push, shardKey, chunk.Version, chunk.First, chunk.Offset, chunk.Total, chunk.Data.Length, chunk.Data, chunk.Count, token);
        Interlocked.Add(ref bytesSent, chunk.Data.Length);
        await c.ReadResponseAsync(to, expectPayload: false, token);
        return true;
    });

    /// <summary>Floats [offset, offset + count) of a shard on another silo, as its PullAsync returns them.</summary>
    public Task<ShardChunk> PullAsync(string from, string shardKey, long offset, int count) => WithConnectionAsync(from, async (c, token) =>
    {
        await c.WriteAsync(Pull, shardKey, 0, -1, offset, 0, count, ReadOnlyMemory<byte>.Empty, 0, token);
        var (version, total, data) = await c.ReadResponseAsync(from, expectPayload: true, token);
        Interlocked.Add(ref bytesReceived, data.Length);
        return new ShardChunk(version, -1, offset, total, data);
    });

    /// <summary>Sends one piece of a shard's state copy to its mirror grain <paramref name="mirrorKey"/>, which the plane of
    /// <paramref name="to"/> calls on its own silo; returns the silo the mirror lives on (as StoreAsync does).</summary>
    public Task<string> MirrorAsync(string to, string mirrorKey, long version, long offset, long total, ReadOnlyMemory<byte> piece) => WithConnectionAsync(to, async (c, token) =>
    {
        await c.WriteAsync(Mirror, mirrorKey, version, 0, offset, total, piece.Length, piece, 0, token);
        Interlocked.Add(ref bytesSent, piece.Length);
        var (_, _, host) = await c.ReadResponseAsync(to, expectPayload: true, token);
        return Encoding.UTF8.GetString(host);
    });

    /// <summary>
    /// One frame on a pooled connection (or a new one), within <see cref="FrameTimeout"/>. A pooled connection may be to
    /// a peer that restarted or went away since: when it fails before an answer, the frame goes once more on a freshly
    /// dialled one (a pull changes nothing; a shard drops a pushed chunk it holds already, so neither counts twice).
    /// </summary>
    private async Task<T> WithConnectionAsync<T>(string peer, Func<Connection, CancellationToken, Task<T>> frame)
    {
        for (int attempt = 1; ; attempt++)
        {
            var (c, pooled) = await RentAsync(peer);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
            timeout.CancelAfter(FrameTimeout);
            try
            {
                var answer = await frame(c, timeout.Token);
                Return(peer, c);
                return answer;
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                c.Dispose();
                if (pooled && attempt == 1 && e is not OperationCanceledException) continue;
                throw e is OperationCanceledException && !stopping.IsCancellationRequested
                    ? new IOException($"tensor data plane: {peer} did not answer a frame within {FrameTimeout.TotalSeconds:0} s", e)
                    : e;
            }
            catch
            {
                c.Dispose();
                throw;
            }
        }
    }

    private async Task AcceptAsync(TcpListener l)
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await l.AcceptTcpClientAsync(stopping.Token); }
            catch (Exception) when (stopping.IsCancellationRequested) { return; }
            catch (SocketException e) { logger.LogWarning(e, "Tensor data plane: accept failed"); continue; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    /// <summary>One connection: frame after frame, each answered before the next is read.</summary>
    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        client.NoDelay = true;
        var stream = client.GetStream();
        var header = new byte[HeaderBytes + 2];
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                try { await stream.ReadExactlyAsync(header, stopping.Token); }
                catch (EndOfStreamException) { return; } // the peer closed between frames
                byte kind = header[0];
                long version = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(1));
                int first = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(9));
                long offset = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(13));
                long total = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(21));
                int length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(29));
                int microBatches = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(33));
                int keyLength = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(HeaderBytes));
                bool carries = kind is Push or Mirror;
                if (length < 0 || (carries && length > MaxPayloadBytes))
                {
                    await Respond(stream, Error, 0, 0, Encoding.UTF8.GetBytes($"a frame of {length} bytes is outside [0, {MaxPayloadBytes}]"));
                    return;
                }
                var key = new byte[keyLength];
                await stream.ReadExactlyAsync(key, stopping.Token);
                var shard = grains.GetGrain<IParameterShardGrain>(Encoding.UTF8.GetString(key));
                byte[] payload = carries ? new byte[length] : [];
                if (carries)
                {
                    await stream.ReadExactlyAsync(payload, stopping.Token);
                    Interlocked.Add(ref bytesReceived, length);
                }
                try
                {
                    switch (kind)
                    {
                        case Push:
                            await shard.PushAsync(new ShardChunk(version, first, offset, total, payload, microBatches));
                            await Respond(stream, Ok, 0, 0, []);
                            break;
                        case Pull:
                            var chunk = await shard.PullAsync(offset, length);
                            await Respond(stream, Ok, chunk.Version, chunk.Total, chunk.Data);
                            Interlocked.Add(ref bytesSent, chunk.Data.Length);
                            break;
                        case Mirror:
                            // The mirror lives on this silo (its shard asked it for this plane's endpoint here): a local call.
                            var mirror = grains.GetGrain<IShardMirrorGrain>(Encoding.UTF8.GetString(key));
                            var host = await Placement.PlacementHint.On(silo.SiloAddress, () => mirror.StoreAsync(new MirrorChunk(version, offset, total, payload)));
                            await Respond(stream, Ok, 0, 0, Encoding.UTF8.GetBytes(host));
                            break;
                        default:
                            await Respond(stream, Error, 0, 0, Encoding.UTF8.GetBytes($"unknown frame kind {kind}"));
                            return;
                    }
                }
                catch (Exception e) when (e is not IOException and not OperationCanceledException)
                {
                    // The shard refused (a wrong version, a chunk that does not fit): the sender gets its message.
                    await Respond(stream, Error, 0, 0, Encoding.UTF8.GetBytes(e.Message));
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A peer that went away: its worker sees the failure on its side.
        }
    }

    private static async Task Respond(NetworkStream stream, byte status, long version, long total, byte[] payload)
    {
        var head = new byte[1 + 8 + 8 + 4];
        head[0] = status;
        BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(1), version);
        BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(9), total);
        BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(17), payload.Length);
        await stream.WriteAsync(head);
        if (payload.Length > 0) await stream.WriteAsync(payload);
    }

    private async Task<(Connection Connection, bool Pooled)> RentAsync(string to)
    {
        if (idle.GetOrAdd(to, _ => []).TryTake(out var c)) return (c, true);
        var colon = to.LastIndexOf(':');
        var client = new TcpClient { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await client.ConnectAsync(IPAddress.Parse(to[..colon]), int.Parse(to[(colon + 1)..]), timeout.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            client.Dispose();
            throw new IOException($"tensor data plane: cannot reach {to} ({(e is OperationCanceledException ? $"no answer within {ConnectTimeout.TotalSeconds:0} s" : e.Message)})", e);
        }
        return (new Connection(client), false);
    }

    private void Return(string to, Connection c)
    {
        if (stopping.IsCancellationRequested) c.Dispose();
        else idle.GetOrAdd(to, _ => []).Add(c);
    }

    public void Dispose()
    {
        stopping.Cancel();
        lock (gate) listener?.Stop();
        foreach (var bag in idle.Values)
            while (bag.TryTake(out var c)) c.Dispose();
    }

    private sealed class Connection(TcpClient client) : IDisposable
    {
        private readonly NetworkStream stream = client.GetStream();
        private readonly byte[] head = new byte[1 + 8 + 8 + 4];

        public async Task WriteAsync(byte kind, string key, long version, int first, long offset, long total, int length, ReadOnlyMemory<byte> payload, int count, CancellationToken token)
        {
            var keyBytes = Encoding.UTF8.GetBytes(key);
            var header = new byte[HeaderBytes + 2 + keyBytes.Length];
            header[0] = kind;
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(1), version);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(9), first);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(13), offset);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(21), total);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(29), length);
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(33), count);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(HeaderBytes), checked((ushort)keyBytes.Length));
            keyBytes.CopyTo(header, HeaderBytes + 2);
            await stream.WriteAsync(header, token);
            if (payload.Length > 0) await stream.WriteAsync(payload, token);
        }

        public async Task<(long Version, long Total, byte[] Data)> ReadResponseAsync(string peer, bool expectPayload, CancellationToken token)
        {
            await stream.ReadExactlyAsync(head, token);
            long version = BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(1));
            long total = BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(9));
            var data = new byte[BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(17))];
            await stream.ReadExactlyAsync(data, token);
            if (head[0] != Ok) throw new InvalidOperationException($"{Encoding.UTF8.GetString(data)} (via the tensor data plane of {peer})");
            return (version, total, data);
        }

        public void Dispose() => client.Dispose();
    }
}

/// <summary>Whether silos move cross-silo tensor chunks over <see cref="TensorDataPlane"/>, and on which port.</summary>
public sealed record TensorDataPlaneOptions(bool Enabled = true, int Port = 0)
{
    /// <summary>Mutual TLS for every connection of the plane; null = plain TCP.</summary>
    public Abstractions.Security.ClusterTls? Tls { get; init; }
}
