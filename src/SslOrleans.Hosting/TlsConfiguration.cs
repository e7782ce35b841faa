using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SslOrleans.Abstractions.Security;

namespace SslOrleans.Hosting;

/// <summary>
/// The "Tls" configuration section: the silo's mutual-TLS identity for silo-to-silo, client-to-gateway and tensor
/// data-plane connections. Unset, the silo speaks plain TCP. Either a file (<c>Tls:Certificate</c>, PEM or .pfx/.p12;
/// <c>Tls:Key</c> when the PEM key is in its own file; <c>Tls:Password</c> for an encrypted key or a .pfx) or a store
/// (<c>Tls:Thumbprint</c>, <c>Tls:StoreLocation</c> CurrentUser or LocalMachine, <c>Tls:StoreName</c> default My), and
/// always <c>Tls:Authority</c>: the PEM file of the authority every peer's certificate must chain to.
/// Environment: <c>Tls__Certificate=/etc/sslo/tls/tls.crt</c>, …; docs/security.md.
/// </summary>
public static class TlsConfiguration
{
    public const string Section = "Tls";

    private static readonly string[] Keys = ["Certificate", "Key", "Password", "Authority", "Thumbprint", "StoreLocation", "StoreName"];

    /// <summary>The configured identity, loaded and checked, or null when the section sets nothing.</summary>
    public static ClusterTls? From(IConfiguration configuration)
    {
        var s = new SectionReader(configuration, Section, Keys, secrets: ["Password"]);
        var certificate = s.Text("Certificate");
        var thumbprint = s.Text("Thumbprint");
        var authority = s.Text("Authority");
        if (certificate is null && thumbprint is null)
        {
            foreach (var key in new[] { "Key", "Password", "Authority", "StoreLocation", "StoreName" })
                if (s.Text(key) is not null)
                    throw new SslConfigurationException(s.Path(key), $"{s.Path(key)}: set without {s.Path("Certificate")} or {s.Path("Thumbprint")} (the silo's own certificate)");
            return null;
        }
        if (certificate is not null && thumbprint is not null)
            throw new SslConfigurationException(s.Path("Thumbprint"), $"{s.Path("Thumbprint")}: give the certificate as a file ({s.Path("Certificate")}) or from a store ({s.Path("Thumbprint")}), not both");
        // Keys of the other way of giving the certificate are mistakes, not extras to ignore.
        foreach (var key in certificate is not null ? new[] { "StoreLocation", "StoreName" } : ["Key", "Password"])
            if (s.Text(key) is not null)
                throw new SslConfigurationException(s.Path(key), $"{s.Path(key)}: belongs to a certificate {(certificate is not null ? $"from a store ({s.Path("Thumbprint")})" : $"file ({s.Path("Certificate")})")}, not to the one given");
        if (authority is null)
            throw new SslConfigurationException(s.Path("Authority"), $"{s.Path("Authority")}: mutual TLS needs the PEM file of the authority the cluster's certificates chain to");
        try
        {
            if (certificate is not null)
                return ClusterTls.FromFiles(certificate, s.Text("Key"), s.Text("Password"), authority, s.Path("Certificate"));
            var location = StoreLocation.CurrentUser;
            if (s.Text("StoreLocation") is { } l && !Enum.TryParse(l, ignoreCase: true, out location))
                throw s.Error("StoreLocation", "must be CurrentUser or LocalMachine");
            return ClusterTls.FromStore(location, s.Text("StoreName") ?? "My", thumbprint!, authority, s.Path("Thumbprint"));
        }
        catch (ClusterTlsException e)
        {
            throw new SslConfigurationException(s.Path(certificate is not null ? "Certificate" : "Thumbprint"), e.Message);
        }
    }
}

public static class SslTlsSiloExtensions
{
    /// <summary>Mutual TLS on the silo's Orleans connections (silo to silo and from clients to its gateway) and on its
    /// tensor data plane, with the same identity; <see cref="ClusterTls"/> is registered for whatever else needs it.</summary>
    public static ISiloBuilder UseClusterTls(this ISiloBuilder silo, ClusterTls tls)
    {
        silo.UseTls(tls.Certificate, o => Client.ClusterTlsExtensions.Configure(o, tls));
        silo.Services.AddSingleton(tls);
        return silo;
    }
}
