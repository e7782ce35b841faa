using System.Net;
using System.Net.Sockets;

namespace SslOrleans.Hosting;

/// <summary>Ports on 127.0.0.1 for processes started on this machine.</summary>
public static class Loopback
{
    private static readonly HashSet<int> Given = [];

    /// <summary>A port free right now (the OS's pick for a listener that is closed again), and never one this process was
    /// given before: a closed listener's port may be the OS's next pick, and a silo given the same port twice (as its silo
    /// and its HTTP port) refuses to start.</summary>
    public static int FreePort()
    {
        for (int attempt = 1; ; attempt++)
        {
            int port;
            using (var l = new TcpListener(IPAddress.Loopback, 0))
            {
                l.Start();
                port = ((IPEndPoint)l.LocalEndpoint).Port;
            }
            lock (Given)
                if (Given.Add(port) || attempt >= 1000) return port;
        }
    }

    /// <summary>Waits until something accepts connections on the port; <paramref name="checkAlive"/> runs between
    /// tries and throws when the process that should listen has died. Past the deadline: a TimeoutException.</summary>
    public static async Task WaitUntilListeningAsync(int port, DateTime deadline, Action checkAlive, Func<string> whatFailed)
    {
        while (true)
        {
            checkAlive();
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            catch (SocketException e)
            {
                throw new TimeoutException($"nothing listens on 127.0.0.1:{port} by the deadline ({e.Message}); {whatFailed()}");
            }
        }
    }
}
