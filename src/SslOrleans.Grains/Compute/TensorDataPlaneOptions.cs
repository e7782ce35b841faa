using SslOrleans.Abstractions.Security;

namespace SslOrleans.Grains.Compute;

/// <summary>
/// Whether silos move cross-silo tensor chunks over <see cref="TensorDataPlane"/>, on which port, and the limits its
/// listener holds every peer to (section "SslTraining", keys DataPlane*). The defaults admit the largest chunk a run spec
/// allows (chunk_bytes up to 1 GiB) and a cluster's ordinary traffic; they only refuse what no silo of ours sends.
/// </summary>
public sealed record TensorDataPlaneOptions(bool Enabled = true, int Port = 0)
{
    /// <summary>RunSpec's largest chunk_bytes: a frame larger than this is not one of ours.</summary>
    public const int LargestChunkBytes = 1 << 30;

    /// <summary>A shard or mirror key is "run id/index" (a run id is at most a few dozen characters); 512 bytes is generous.</summary>
    public const int MaxKeyBytes = 512;

    /// <summary>Largest payload of one frame (a push or mirror piece; a pull's count × 4 bytes).</summary>
    public int MaxFrameBytes { get; init; } = LargestChunkBytes;

    /// <summary>Bytes of received payloads held at once across all connections, from a frame's header until its shard took
    /// it. A frame that would pass this waits (within <see cref="ReadTimeout"/>) for others to finish, then is refused;
    /// one larger than the whole budget is refused at once. Must admit one <see cref="MaxFrameBytes"/> frame.</summary>
    public long MaxBufferedBytes { get; init; } = 2L * LargestChunkBytes;

    /// <summary>Connections the listener serves at once; further ones are closed on accept (a cluster of N silos
    /// keeps a few pooled connections per peer).</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>A frame, once its first byte arrived, must arrive whole within this (and a frame waiting for buffer room
    /// waits within it too). A chunk of chunk_bytes takes seconds even on a slow link; this matches the sender's own limit
    /// (<see cref="TensorDataPlane.FrameTimeout"/>).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A connection with no frame for this long is closed; senders drop pooled connections idle for half of it.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The TLS handshake of a connection (either side) must finish within this.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Mutual TLS with the cluster's authority on every connection when set (both ends must set it); plain TCP when
    /// null. The identity is the one Orleans' own connections use; the silo's host sets it.</summary>
    public ClusterTls? Tls { get; init; }

    /// <summary>At most one refusal is logged per this window (with the count of those not logged); all are counted.</summary>
    public TimeSpan RefusalLogWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws naming the option at fault when the limits cannot work together.</summary>
    public TensorDataPlaneOptions Validated()
    {
        if (MaxFrameBytes is < 1024 or > LargestChunkBytes)
            throw new ArgumentOutOfRangeException(nameof(MaxFrameBytes), MaxFrameBytes, $"must be between 1024 and {LargestChunkBytes} bytes");
        if (MaxBufferedBytes < MaxFrameBytes)
            throw new ArgumentOutOfRangeException(nameof(MaxBufferedBytes), MaxBufferedBytes, $"must admit one frame of MaxFrameBytes ({MaxFrameBytes}) bytes");
        if (MaxConnections < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "must be at least 1");
        foreach (var (name, value) in new[] { (nameof(ReadTimeout), ReadTimeout), (nameof(IdleTimeout), IdleTimeout), (nameof(HandshakeTimeout), HandshakeTimeout) })
            if (value <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(name, value, "must be positive");
        return this;
    }
}
