using System.Buffers.Binary;
using System.Text;

namespace SslOrleans.Grains.Compute;

/// <summary>
/// The fixed head of a data-plane frame: kind, version, first micro-batch, offset, total, length (payload bytes; a pull's
/// float count), micro-batch count, key length; then the key and the payload. <see cref="Problem"/> checks all of it
/// before the receiver allocates anything the peer declared.
/// </summary>
internal readonly record struct DataPlaneFrame(byte Kind, long Version, int First, long Offset, long Total, int Length, int Count, int KeyLength)
{
    public const byte Push = 1, Pull = 2, Mirror = 3;
    public const int Bytes = 1 + 8 + 4 + 8 + 8 + 4 + 4 + 2;

    /// <summary>Strict: a key that is not UTF-8 is refused rather than turned into replacement characters.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Whether the frame brings a payload of <see cref="Length"/> bytes after its key.</summary>
    public bool Carries => Kind is Push or Mirror;

    public static DataPlaneFrame Read(ReadOnlySpan<byte> head) => new(
        head[0],
        BinaryPrimitives.ReadInt64LittleEndian(head[1..]),
        BinaryPrimitives.ReadInt32LittleEndian(head[9..]),
        BinaryPrimitives.ReadInt64LittleEndian(head[13..]),
        BinaryPrimitives.ReadInt64LittleEndian(head[21..]),
        BinaryPrimitives.ReadInt32LittleEndian(head[29..]),
        BinaryPrimitives.ReadInt32LittleEndian(head[33..]),
        BinaryPrimitives.ReadUInt16LittleEndian(head[37..]));

    public void Write(Span<byte> head)
    {
        head[0] = Kind;
        BinaryPrimitives.WriteInt64LittleEndian(head[1..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(head[9..], First);
        BinaryPrimitives.WriteInt64LittleEndian(head[13..], Offset);
        BinaryPrimitives.WriteInt64LittleEndian(head[21..], Total);
        BinaryPrimitives.WriteInt32LittleEndian(head[29..], Length);
        BinaryPrimitives.WriteInt32LittleEndian(head[33..], Count);
        BinaryPrimitives.WriteUInt16LittleEndian(head[37..], checked((ushort)KeyLength));
    }

    /// <summary>Why this head is not a frame this plane serves (the refusal's reason and detail), or null.</summary>
    public (string Reason, string Detail)? Problem(TensorDataPlaneOptions options)
    {
        if (Kind is not (Push or Pull or Mirror)) return (Refusal.Garbage, $"unknown frame kind {Kind}");
        if (KeyLength is < 1 or > TensorDataPlaneOptions.MaxKeyBytes)
            return (Refusal.Key, $"a key of {KeyLength} bytes is outside [1, {TensorDataPlaneOptions.MaxKeyBytes}]");
        long bytes = Carries ? Length : (long)Length * sizeof(float);
        if (Length < 0 || bytes > options.MaxFrameBytes)
            return (Refusal.TooLarge, $"a frame of {bytes} bytes is outside [0, {options.MaxFrameBytes}] (SslTraining:DataPlaneMaxFrameBytes)");
        if (Carries && Length > options.MaxBufferedBytes)
            return (Refusal.TooLarge, $"a frame of {Length} bytes exceeds the whole buffer budget of {options.MaxBufferedBytes} (SslTraining:DataPlaneMaxBufferedBytes)");
        return null;
    }

    /// <summary>The key as text, or null when its bytes are not UTF-8.</summary>
    public static string? Key(ReadOnlySpan<byte> bytes)
    {
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
    }
}

/// <summary>Why the listener refused a connection or a frame: the tag of the refusal counter and of its log line.</summary>
public static class Refusal
{
    public const string Garbage = "unknown-kind", Key = "bad-key", TooLarge = "too-large", Memory = "memory-cap",
        ReadTimeout = "read-timeout", Connections = "connection-limit", Tls = "tls";
}
