using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace SslOrleans.Hosting;

/// <summary>
/// <c>Silo:AdvertisedIP=auto</c>: a container's address is known only once it runs (compose replicas share one
/// configuration), so the image asks the silo to find it: the first IPv4 address, in interface order, of an interface
/// that is up and not loopback.
/// </summary>
internal static class MachineAddress
{
    public const string Auto = "auto";

    public static IPAddress? Find() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses.Select(a => a.Address))
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a) && !a.ToString().StartsWith("169.254.", StringComparison.Ordinal));
}
