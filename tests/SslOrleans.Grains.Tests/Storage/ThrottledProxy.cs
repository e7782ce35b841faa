using System.Net;
using System.Net.Sockets;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>
/// A TCP proxy on loopback in front of a server, carrying client-to-server bytes at a limited rate: a slow link to
/// blob storage, so that a checkpoint's upload takes long enough to be interrupted in the middle.
/// </summary>
internal sealed class ThrottledProxy : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly int targetPort;
    private readonly long bytesPerSecond;
    private readonly Task accepting;

    public ThrottledProxy(int targetPort, long bytesPerSecond)
    {
        this.targetPort = targetPort;
        this.bytesPerSecond = bytesPerSecond;
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, targetPort, stop.Token);
                var up = CopyAsync(client.GetStream(), server.GetStream(), bytesPerSecond);
                var down = CopyAsync(server.GetStream(), client.GetStream(), long.MaxValue);
                await Task.WhenAny(up, down);
            }
            catch (Exception) { }
        }
    }

    private async Task CopyAsync(Stream from, Stream to, long rate)
    {
        var buffer = new byte[16 << 10];
        int n;
        while ((n = await from.ReadAsync(buffer, stop.Token)) > 0)
        {
            await to.WriteAsync(buffer.AsMemory(0, n), stop.Token);
            // Each chunk takes its time at the rate: an idle connection earns no credit for a later burst.
            if (rate != long.MaxValue) await Task.Delay(TimeSpan.FromSeconds((double)n / rate), stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        listener.Stop();
        try { await accepting; } catch (Exception) { }
    }
}
