using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
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
/// port <c>SslTraining:DataPort</c> (0: any free one).
/// <para>
/// The listener trusts no peer (<see cref="TensorDataPlaneOptions"/>): with <see cref="TensorDataPlaneOptions.Tls"/> every
/// connection is mutual TLS with the cluster's authority, refused before any frame is read; a frame's head is checked
/// whole (kind, key, declared size) before anything it declares is allocated; received payloads share one buffer budget;
/// a begun frame must arrive within a read timeout and an idle connection is closed; connections beyond a limit are
/// closed on accept. Every refusal is counted (<see cref="Refused"/>, sslo.dataplane.refused) and logged, a few at most.
/// </para>
/// </summary>
public sealed class TensorDataPlane : IDisposable
{
    private const byte Ok = 0, Error = 1;
    private const int ResponseHeadBytes = 1 + 8 + 8 + 4;

    private readonly IGrainFactory grains;
    private readonly ILocalSiloDetails silo;
    private readonly ILogger<TensorDataPlane> logger;
    private readonly TensorDataPlaneOptions options;
    private readonly DataPlaneTls? tls;
    private readonly DataPlaneBudget budget;
    private readonly DataPlaneRefusals refusals;
    private readonly object gate = new();
    private readonly ConcurrentDictionary<string, ConcurrentBag<Connection>> idle = new();
    private readonly CancellationTokenSource stopping = new();
    private TcpListener? listener;
    private string? endpoint;

    public TensorDataPlane(IGrainFactory grains, ILocalSiloDetails silo, ILogger<TensorDataPlane> logger, TensorDataPlaneOptions options)
    {
        (this.grains, this.silo, this.logger, this.options) = (grains, silo, logger, options.Validated());
        tls = options.Tls is null ? null : new DataPlaneTls(options.Tls);
        budget = new DataPlaneBudget(options.MaxBufferedBytes);
        refusals = new DataPlaneRefusals(logger, options.RefusalLogWindow);
    }

    /// <summary>Bytes of chunk payloads this silo sent and received through the plane.</summary>
    public long BytesSent => Interlocked.Read(ref bytesSent);
    public long BytesReceived => Interlocked.Read(ref bytesReceived);
    private long bytesSent, bytesReceived;

    /// <summary>Connections and frames the listener refused, in all and by <see cref="Refusal"/> reason.</summary>
    public long Refused => refusals.Total;
    public long RefusedFor(string reason) => refusals.Of(reason);

    /// <summary>Bytes of received payloads held now, the most ever held at once, and the cap on both.</summary>
    public long BufferedBytes => budget.Held;
    public long PeakBufferedBytes => budget.Peak;
    public long MaxBufferedBytes => budget.Capacity;

    /// <summary>Connections the listener serves now (accepted and not closed).</summary>
    public int OpenConnections => Volatile.Read(ref openConnections);
    private int openConnections;

    /// <summary>Connections the listener closed because no frame came within the idle timeout.</summary>
    public long IdleClosed => Interlocked.Read(ref idleClosed);
    private long idleClosed;

    /// <summary>Whether connections are mutual TLS (<see cref="TensorDataPlaneOptions.Tls"/>).</summary>
    public bool Authenticated => tls is not null;

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
                logger.LogInformation("Tensor data plane listening on {Endpoint} ({Security})", endpoint,
                    options.Tls is null ? "plain TCP" : $"mutual TLS, {options.Tls.Describe()}");
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
        await c.WriteAsync(new DataPlaneFrame(DataPlaneFrame.Push, chunk.Version, chunk.First, chunk.Offset, chunk.Total, chunk.Data.Length, chunk.Count, 0),
            shardKey, chunk.Data, token);
        Interlocked.Add(ref bytesSent, chunk.Data.Length);
        await c.ReadResponseAsync(to, token);
        return true;
    });

    /// <summary>Floats [offset, offset + count) of a shard on another silo, as its PullAsync returns them.</summary>
    public Task<ShardChunk> PullAsync(string from, string shardKey, long offset, int count) => WithConnectionAsync(from, async (c, token) =>
    {
        await c.WriteAsync(new DataPlaneFrame(DataPlaneFrame.Pull, 0, -1, offset, 0, count, 0, 0), shardKey, ReadOnlyMemory<byte>.Empty, token);
        var (version, total, data) = await c.ReadResponseAsync(from, token);
        Interlocked.Add(ref bytesReceived, data.Length);
        return new ShardChunk(version, -1, offset, total, data);
    });

    /// <summary>Sends one piece of a shard's state copy to its mirror grain <paramref name="mirrorKey"/>, which the plane of
    /// <paramref name="to"/> calls on its own silo; returns the silo the mirror lives on (as StoreAsync does).</summary>
    public Task<string> MirrorAsync(string to, string mirrorKey, long version, long offset, long total, ReadOnlyMemory<byte> piece) => WithConnectionAsync(to, async (c, token) =>
    {
        await c.WriteAsync(new DataPlaneFrame(DataPlaneFrame.Mirror, version, 0, offset, total, piece.Length, 0, 0), mirrorKey, piece, token);
        Interlocked.Add(ref bytesSent, piece.Length);
        var (_, _, host) = await c.ReadResponseAsync(to, token);
        return Encoding.UTF8.GetString(host);
    });

    /// <summary>
    /// One frame on a pooled connection (or a new one), within <see cref="FrameTimeout"/>. A pooled connection may be to
    /// a peer that restarted or went away since, or one its listener closed as idle: when it fails before an answer, the
    /// frame goes once more on a freshly dialled one (a pull changes nothing; a shard drops a pushed chunk it holds
    /// already, so neither counts twice).
    /// </summary>
    private async Task<T> WithConnectionAsync<T>(string peer, Func<Connection, CancellationToken, Task<T>> frame)
    {
        for (int attempt = 1; ; attempt++)
        {
            var (c, pooled) = await RentAsync(peer);
            using var timeout = Deadline(FrameTimeout);
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

    private CancellationTokenSource Deadline(TimeSpan after)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        deadline.CancelAfter(after);
        return deadline;
    }

    private async Task AcceptAsync(TcpListener l)
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await l.AcceptTcpClientAsync(stopping.Token); }
            catch (Exception) when (stopping.IsCancellationRequested) { return; }
            catch (SocketException e) { logger.LogWarning(e, "Tensor data plane: accept failed"); continue; }
            if (Interlocked.Increment(ref openConnections) > options.MaxConnections)
            {
                Interlocked.Decrement(ref openConnections);
                var peer = client.Client.RemoteEndPoint;
                client.Dispose();
                refusals.Record(peer, Refusal.Connections, $"{options.MaxConnections} connections are open already (SslTraining:DataPlaneMaxConnections)");
                continue;
            }
            // Off the accept loop and off the grain scheduler: a handshake or a slow peer holds only its own task.
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    /// <summary>One connection: the TLS handshake when asked for, then frame after frame, each answered before the next is read.</summary>
    private async Task ServeAsync(TcpClient client)
    {
        var peer = client.Client.RemoteEndPoint;
        try
        {
            using var _ = client;
            client.NoDelay = true;
            Stream stream = client.GetStream();
            if (tls is not null)
            {
                using var handshake = Deadline(options.HandshakeTimeout);
                try { stream = await tls.AcceptAsync(stream, handshake.Token); }
                catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException && !stopping.IsCancellationRequested)
                {
                    refusals.Record(peer, Refusal.Tls, e is OperationCanceledException
                        ? $"no TLS handshake within {options.HandshakeTimeout.TotalSeconds:0.#} s" : e.Message);
                    return;
                }
            }
            await using var __ = stream;
            var head = new byte[DataPlaneFrame.Bytes];
            while (!stopping.IsCancellationRequested)
            {
                // Between frames: the next one must begin within the idle timeout (pooled senders drop theirs sooner).
                using (var idleDeadline = Deadline(options.IdleTimeout))
                {
                    int n;
                    try { n = await stream.ReadAsync(head.AsMemory(0, 1), idleDeadline.Token); }
                    catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref idleClosed);
                        return;
                    }
                    if (n == 0) return; // the peer closed between frames
                }
                if (!await ServeFrameAsync(stream, head, peer)) return;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A peer that went away: its worker sees the failure on its side.
        }
        finally
        {
            Interlocked.Decrement(ref openConnections);
        }
    }

    /// <summary>
    /// One frame whose first byte is in <paramref name="head"/>; false when the connection is to close (a refusal).
    /// Order matters: the whole head is checked, then the key read and checked, then the payload's bytes reserved from
    /// the budget, and only then is its array allocated.
    /// </summary>
    private async Task<bool> ServeFrameAsync(Stream stream, byte[] head, EndPoint? peer)
    {
        using var deadline = Deadline(options.ReadTimeout);
        var token = deadline.Token;
        long reserved = 0;
        try
        {
            await stream.ReadExactlyAsync(head.AsMemory(1), token);
            var frame = DataPlaneFrame.Read(head);
            if (frame.Problem(options) is { } problem) return await RefuseAsync(stream, peer, problem.Reason, problem.Detail);
            var keyBytes = new byte[frame.KeyLength];
            await stream.ReadExactlyAsync(keyBytes, token);
            if (DataPlaneFrame.Key(keyBytes) is not { } key) return await RefuseAsync(stream, peer, Refusal.Key, "the key is not UTF-8");
            if (frame.Carries && frame.Length > 0)
            {
                if (!await budget.ReserveAsync(frame.Length, token))
                {
                    if (stopping.IsCancellationRequested) return false;
                    return await RefuseAsync(stream, peer, Refusal.Memory,
                        $"{frame.Length} bytes found no room within {options.ReadTimeout.TotalSeconds:0.#} s: {budget.Held} of {budget.Capacity} " +
                        "bytes are held by other frames (SslTraining:DataPlaneMaxBufferedBytes)");
                }
                reserved = frame.Length;
            }
            byte[] payload = frame.Carries ? GC.AllocateUninitializedArray<byte>(frame.Length) : [];
            await stream.ReadExactlyAsync(payload, token);
            Interlocked.Add(ref bytesReceived, payload.Length);
            await AnswerAsync(stream, frame, key, payload);
            return true;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            refusals.Record(peer, Refusal.ReadTimeout, $"a frame did not arrive whole within {options.ReadTimeout.TotalSeconds:0.#} s (SslTraining:DataPlaneReadTimeout)");
            return false;
        }
        finally
        {
            if (reserved > 0) budget.Release(reserved);
        }
    }

    /// <summary>Counts and logs the refusal, and tells the peer why (a misconfigured silo of ours learns its limit).</summary>
    private async Task<bool> RefuseAsync(Stream stream, EndPoint? peer, string reason, string detail)
    {
        refusals.Record(peer, reason, detail);
        using var deadline = Deadline(options.ReadTimeout);
        try { await RespondAsync(stream, Error, 0, 0, Encoding.UTF8.GetBytes($"refused ({reason}): {detail}"), deadline.Token); }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { /* closing anyway */ }
        return false;
    }

    /// <summary>The frame as a local grain call, and its answer; the grain call has no deadline here (the sender has
    /// its own), the answer must be taken within the read timeout.</summary>
    private async Task AnswerAsync(Stream stream, DataPlaneFrame frame, string key, byte[] payload)
    {
        byte status = Ok;
        long version = 0, total = 0;
        byte[] answer = [];
        try
        {
            switch (frame.Kind)
            {
                case DataPlaneFrame.Push:
                    await grains.GetGrain<IParameterShardGrain>(key).PushAsync(new ShardChunk(frame.Version, frame.First, frame.Offset, frame.Total, payload, frame.Count));
                    break;
                case DataPlaneFrame.Pull:
                    var chunk = await grains.GetGrain<IParameterShardGrain>(key).PullAsync(frame.Offset, frame.Length);
                    (version, total, answer) = (chunk.Version, chunk.Total, chunk.Data);
                    break;
                case DataPlaneFrame.Mirror:
                    // The mirror lives on this silo (its shard asked it for this plane's endpoint here): a local call.
                    var mirror = grains.GetGrain<IShardMirrorGrain>(key);
                    answer = Encoding.UTF8.GetBytes(await Placement.PlacementHint.On(silo.SiloAddress,
                        () => mirror.StoreAsync(new MirrorChunk(frame.Version, frame.Offset, frame.Total, payload))));
                    break;
            }
        }
        catch (Exception e) when (e is not IOException and not OperationCanceledException)
        {
            // The shard refused (a wrong version, a chunk that does not fit): the sender gets its message.
            (status, version, total, answer) = (Error, 0, 0, Encoding.UTF8.GetBytes(e.Message));
        }
        using var deadline = Deadline(options.ReadTimeout);
        await RespondAsync(stream, status, version, total, answer, deadline.Token);
        if (frame.Kind == DataPlaneFrame.Pull && status == Ok) Interlocked.Add(ref bytesSent, answer.Length);
    }

    private static async Task RespondAsync(Stream stream, byte status, long version, long total, byte[] payload, CancellationToken token)
    {
        var head = new byte[ResponseHeadBytes];
        head[0] = status;
        BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(1), version);
        BinaryPrimitives.WriteInt64LittleEndian(head.AsSpan(9), total);
        BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(17), payload.Length);
        await stream.WriteAsync(head, token);
        if (payload.Length > 0) await stream.WriteAsync(payload, token);
        await stream.FlushAsync(token);
    }

    private async Task<(Connection Connection, bool Pooled)> RentAsync(string to)
    {
        var bag = idle.GetOrAdd(to, _ => []);
        while (bag.TryTake(out var pooled))
        {
            // The peer's listener closes a connection idle for its IdleTimeout; one idle half as long is still served.
            if (Stopwatch.GetElapsedTime(pooled.LastUsed) < options.IdleTimeout / 2) return (pooled, true);
            pooled.Dispose();
        }
        var colon = to.LastIndexOf(':');
        var client = new TcpClient { NoDelay = true };
        using var timeout = Deadline(ConnectTimeout);
        try
        {
            await client.ConnectAsync(IPAddress.Parse(to[..colon]), int.Parse(to[(colon + 1)..]), timeout.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            client.Dispose();
            throw new IOException($"tensor data plane: cannot reach {to} ({(e is OperationCanceledException ? $"no answer within {ConnectTimeout.TotalSeconds:0} s" : e.Message)})", e);
        }
        if (tls is null) return (new Connection(client, client.GetStream(), MaxAnswerBytes), false);
        using var handshake = Deadline(options.HandshakeTimeout);
        try
        {
            return (new Connection(client, await tls.ConnectAsync(client.GetStream(), to, handshake.Token), MaxAnswerBytes), false);
        }
        catch (Exception e)
        {
            client.Dispose();
            if (e is OperationCanceledException && !stopping.IsCancellationRequested)
                throw new IOException($"tensor data plane: no TLS handshake with {to} within {options.HandshakeTimeout.TotalSeconds:0.#} s", e);
            throw;
        }
    }

    /// <summary>An answer is a pulled chunk (within the frame cap) or a message; a longer one is not from a silo of ours.</summary>
    private int MaxAnswerBytes => Math.Max(options.MaxFrameBytes, 1 << 20);

    private void Return(string to, Connection c)
    {
        if (stopping.IsCancellationRequested) c.Dispose();
        else idle.GetOrAdd(to, _ => []).Add(c.Used());
    }

    public void Dispose()
    {
        stopping.Cancel();
        lock (gate) listener?.Stop();
        foreach (var bag in idle.Values)
            while (bag.TryTake(out var c)) c.Dispose();
    }

    /// <summary>The sending side of one connection (plain or TLS); writes payloads from the caller's array.</summary>
    private sealed class Connection(TcpClient client, Stream stream, int maxAnswerBytes) : IDisposable
    {
        private readonly byte[] head = new byte[ResponseHeadBytes];

        public long LastUsed { get; private set; } = Stopwatch.GetTimestamp();

        public Connection Used()
        {
            LastUsed = Stopwatch.GetTimestamp();
            return this;
        }

        public async Task WriteAsync(DataPlaneFrame frame, string key, ReadOnlyMemory<byte> payload, CancellationToken token)
        {
            var keyBytes = Encoding.UTF8.GetBytes(key);
            if (keyBytes.Length is 0 or > TensorDataPlaneOptions.MaxKeyBytes)
                throw new ArgumentException($"tensor data plane: a key of {keyBytes.Length} bytes is outside [1, {TensorDataPlaneOptions.MaxKeyBytes}]", nameof(key));
            var header = new byte[DataPlaneFrame.Bytes + keyBytes.Length];
            (frame with { KeyLength = keyBytes.Length }).Write(header);
            keyBytes.CopyTo(header, DataPlaneFrame.Bytes);
            await stream.WriteAsync(header, token);
            if (payload.Length > 0) await stream.WriteAsync(payload, token);
            await stream.FlushAsync(token);
        }

        public async Task<(long Version, long Total, byte[] Data)> ReadResponseAsync(string peer, CancellationToken token)
        {
            await stream.ReadExactlyAsync(head, token);
            long version = BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(1));
            long total = BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(9));
            int length = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(17));
            if (length < 0 || length > maxAnswerBytes)
                throw new IOException($"tensor data plane: {peer} answered with {length} bytes, outside [0, {maxAnswerBytes}]");
            var data = new byte[length];
            await stream.ReadExactlyAsync(data, token);
            if (head[0] != Ok) throw new InvalidOperationException($"{Encoding.UTF8.GetString(data)} (via the tensor data plane of {peer})");
            return (version, total, data);
        }

        public void Dispose()
        {
            stream.Dispose();
            client.Dispose();
        }
    }
}
