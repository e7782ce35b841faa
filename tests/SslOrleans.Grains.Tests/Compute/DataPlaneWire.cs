using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace SslOrleans.Grains.Tests.Compute;

/// <summary>
/// The data plane's frames written by hand (the layout of docs/architecture.md, independently of the plane's own code),
/// and a raw connection that can send anything, as a peer that does not play by the rules would.
/// </summary>
internal static class DataPlaneWire
{
    public const byte Push = 1, Pull = 2;

    /// <summary>kind, version, first, offset, total, length, count, key length, key.</summary>
    public static byte[] Frame(byte kind, string key, int length, long version = 0, int first = 0, long offset = 0, long total = 0, int count = 0) =>
        Frame(kind, Encoding.UTF8.GetBytes(key), length, version, first, offset, total, count);

    public static byte[] Frame(byte kind, byte[] key, int length, long version = 0, int first = 0, long offset = 0, long total = 0, int count = 0,
        int? declaredKeyLength = null)
    {
        var f = new byte[39 + key.Length];
        f[0] = kind;
        BinaryPrimitives.WriteInt64LittleEndian(f.AsSpan(1), version);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(9), first);
        BinaryPrimitives.WriteInt64LittleEndian(f.AsSpan(13), offset);
        BinaryPrimitives.WriteInt64LittleEndian(f.AsSpan(21), total);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(29), length);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(33), count);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(37), (ushort)(declaredKeyLength ?? key.Length));
        key.CopyTo(f, 39);
        return f;
    }

    /// <summary>status (0 ok), version, total, then the payload.</summary>
    public static async Task<(byte Status, long Version, byte[] Data)> ReadAnswerAsync(Stream stream, CancellationToken token)
    {
        var head = new byte[21];
        await stream.ReadExactlyAsync(head, token);
        var data = new byte[BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(17))];
        await stream.ReadExactlyAsync(data, token);
        return (head[0], BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(1)), data);
    }
}

/// <summary>One TCP connection to a plane's endpoint, with or without TLS on top.</summary>
internal sealed class RawPeer : IAsyncDisposable
{
    private readonly TcpClient client;
    public Stream Stream { get; set; }

    private RawPeer(TcpClient client)
    {
        this.client = client;
        Stream = client.GetStream();
    }

    public static async Task<RawPeer> ConnectAsync(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..]));
        return new RawPeer(client);
    }

    public async Task SendAsync(byte[] bytes)
    {
        await Stream.WriteAsync(bytes);
        await Stream.FlushAsync();
    }

    /// <summary>Reads until the listener closes the connection (end of stream or a reset): the bytes it sent before, or
    /// null when it was still open after <paramref name="within"/>.</summary>
    public async Task<byte[]?> ClosedWithinAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var got = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await Stream.ReadAsync(buffer, timeout.Token);
                if (n == 0) return got.ToArray();
                got.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException) { return null; }
        catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException) { return got.ToArray(); }
    }

    public async ValueTask DisposeAsync()
    {
        try { await Stream.DisposeAsync(); }
        catch (IOException) { }
        client.Dispose();
    }
}
