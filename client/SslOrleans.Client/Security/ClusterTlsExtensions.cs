using System.Security.Authentication;
using Orleans.Connections.Security;
using Orleans.Hosting;
using SslOrleans.Abstractions.Security;

namespace SslOrleans.Client;

/// <summary>Mutual TLS on Orleans' connections (silo to silo, client to gateway) with a cluster's <see cref="ClusterTls"/>.</summary>
public static class ClusterTlsExtensions
{
    /// <summary>The host name a client asks for in its handshake. Peers are accepted by their authority, not by name
    /// (<see cref="ClusterTls"/>), so this only fills the field SNI needs.</summary>
    public const string TargetHost = "sslo-cluster";

    /// <summary>Both ends present a certificate, both check the other's against the cluster's authority, TLS 1.2 or 1.3.</summary>
    public static void Configure(TlsOptions o, ClusterTls tls)
    {
        o.LocalCertificate = tls.Certificate;
        o.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        o.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        o.CheckCertificateRevocation = false; // a private cluster authority publishes no revocation list
        o.RemoteCertificateValidation = (certificate, chain, _) => tls.Accepts(certificate, chain);
        o.OnAuthenticateAsClient = (_, client) => client.TargetHost = TargetHost;
    }

    public static IClientBuilder UseClusterTls(this IClientBuilder client, ClusterTls tls) =>
        client.UseTls(tls.Certificate, o => Configure(o, tls));
}
