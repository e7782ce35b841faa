using System.Net.Security;
using System.Security.Authentication;
using SslOrleans.Abstractions.Security;

namespace SslOrleans.Grains.Compute;

/// <summary>
/// Mutual TLS for the data plane's connections: the listener requires a client certificate, and each side accepts
/// exactly the peers <see cref="ClusterTls.Problem"/> accepts (a certificate chaining to the cluster's authority, valid
/// now). The certificate contexts are built once: they hold the chain each handshake sends.
/// </summary>
internal sealed class DataPlaneTls(ClusterTls tls)
{
    private const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    // offline: a private cluster CA has nothing to fetch; the intermediates come from the identity's own files.
    private readonly SslStreamCertificateContext context = SslStreamCertificateContext.Create(tls.Certificate, tls.Chain, offline: true);

    /// <summary>The listener's side; throws <see cref="AuthenticationException"/> naming why the peer was refused.</summary>
    public Task<SslStream> AcceptAsync(Stream network, CancellationToken token) => HandshakeAsync(network,
        (ssl, validate) => ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificateContext = context,
            ClientCertificateRequired = true,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = validate,
        }, token),
        (problem, e) => new AuthenticationException(problem ?? $"no TLS handshake ({e.Message})", e));

    /// <summary>The sender's side, to a silo at <paramref name="peer"/> ("address:port").</summary>
    public Task<SslStream> ConnectAsync(Stream network, string peer, CancellationToken token) => HandshakeAsync(network,
        (ssl, validate) => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            // Silos are reached at the addresses membership advertises, not at names: no host name to check (ClusterTls).
            TargetHost = peer[..peer.LastIndexOf(':')],
            ClientCertificateContext = context,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = validate,
        }, token),
        (problem, e) => new IOException($"tensor data plane: TLS with {peer} failed: {problem ?? e.Message}", e));

    /// <summary>One handshake over <paramref name="network"/>: the stream on success; on failure it is disposed and
    /// <paramref name="failure"/> says why, with the peer check's reason when that was it.</summary>
    private async Task<SslStream> HandshakeAsync(Stream network, Func<SslStream, RemoteCertificateValidationCallback, Task> authenticate,
        Func<string?, Exception, Exception> failure)
    {
        string? problem = null;
        var ssl = new SslStream(network, leaveInnerStreamOpen: false);
        try
        {
            await authenticate(ssl, (_, certificate, chain, _) => (problem = tls.Problem(certificate, chain)) is null);
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync();
            throw failure(problem, e);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }
}
