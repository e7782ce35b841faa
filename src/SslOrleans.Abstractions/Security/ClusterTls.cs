using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SslOrleans.Abstractions.Security;

/// <summary>A certificate or authority that cannot be used; the message names the setting and the file.</summary>
public sealed class ClusterTlsException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The mutual-TLS identity of one member of a cluster (a silo or a client): its own certificate with private key, and
/// the authorities a peer's certificate must chain to. Silo-to-silo, client-to-gateway and the tensor data plane all
/// use it. The cluster's authority is the identity: a peer is accepted when its certificate chains to one of
/// <see cref="Authorities"/> (and only those: the machine's trust store is not consulted) and is valid now. Host names are
/// not checked, because silos are reached at the addresses membership advertises (pod IPs change), not at names.
/// </summary>
public sealed class ClusterTls : IDisposable
{
    private ClusterTls(X509Certificate2 certificate, X509Certificate2Collection chain, X509Certificate2Collection authorities, string source)
    {
        Certificate = certificate;
        Chain = chain;
        Authorities = authorities;
        Source = source;
    }

    /// <summary>This member's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Intermediate certificates that came with <see cref="Certificate"/> (sent to peers in the handshake).</summary>
    public X509Certificate2Collection Chain { get; }

    /// <summary>The authorities a peer's certificate must chain to.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>Where the certificate came from, for logs: a path or a store and thumbprint; never a secret.</summary>
    public string Source { get; }

    /// <summary>"subject (thumbprint …, until …)" of this member's certificate.</summary>
    public string Describe() =>
        $"{Certificate.Subject} (thumbprint {Certificate.Thumbprint}, valid until {Certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}) from {Source}, " +
        $"peers must chain to {string.Join(", ", Authorities.Select(a => a.Subject))}";

    /// <summary>
    /// Loads a certificate file: PEM (certificate, then intermediates; the key in the same file or in <paramref name="keyPath"/>)
    /// or PKCS#12 (.pfx/.p12, with <paramref name="password"/>), and the authorities' PEM file.
    /// </summary>
    /// <param name="what">The setting the paths came from, named in errors ("Tls:Certificate", "--cluster tls-cert").</param>
    public static ClusterTls FromFiles(string certificatePath, string? keyPath, string? password, string authorityPath, string what)
    {
        var authorities = LoadAuthorities(authorityPath, what);
        if (!File.Exists(certificatePath)) throw new ClusterTlsException($"{what}: certificate file '{certificatePath}' does not exist");
        X509Certificate2 certificate;
        var chain = new X509Certificate2Collection();
        try
        {
            if (IsPkcs12(certificatePath))
            {
                var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(certificatePath, password);
                certificate = all.FirstOrDefault(c => c.HasPrivateKey)
                    ?? throw new ClusterTlsException($"{what}: '{certificatePath}' holds no certificate with a private key");
                foreach (var c in all) if (!ReferenceEquals(c, certificate)) chain.Add(c);
            }
            else
            {
                if (keyPath is not null && !File.Exists(keyPath)) throw new ClusterTlsException($"{what}: key file '{keyPath}' does not exist");
                certificate = password is null
                    ? X509Certificate2.CreateFromPemFile(certificatePath, keyPath)
                    : X509Certificate2.CreateFromEncryptedPemFile(certificatePath, password, keyPath);
                var all = new X509Certificate2Collection();
                all.ImportFromPemFile(certificatePath);
                foreach (var c in all.Skip(1)) chain.Add(c);
            }
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // The message of a wrong password or a malformed file; neither holds the password itself.
            throw new ClusterTlsException($"{what}: cannot load the certificate '{certificatePath}'{(keyPath is null ? "" : $" with key '{keyPath}'")}: {e.Message}", e);
        }
        return Checked(certificate, chain, authorities, certificatePath, what);
    }

    /// <summary>A certificate with private key from a certificate store (CurrentUser or LocalMachine), by thumbprint.</summary>
    public static ClusterTls FromStore(StoreLocation location, string storeName, string thumbprint, string authorityPath, string what)
    {
        var authorities = LoadAuthorities(authorityPath, what);
        using var store = new X509Store(storeName, location);
        try { store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly); }
        catch (CryptographicException e) { throw new ClusterTlsException($"{what}: cannot open the certificate store {location}/{storeName}: {e.Message}", e); }
        var found = store.Certificates.Find(X509FindType.FindByThumbprint, thumbprint, validOnly: false);
        var certificate = found.FirstOrDefault(c => c.HasPrivateKey)
            ?? throw new ClusterTlsException($"{what}: no certificate with thumbprint {thumbprint} and a private key in {location}/{storeName}");
        return Checked(certificate, [], authorities, $"{location}/{storeName}/{thumbprint}", what);
    }

    private static ClusterTls Checked(X509Certificate2 certificate, X509Certificate2Collection chain, X509Certificate2Collection authorities, string source, string what)
    {
        if (!certificate.HasPrivateKey) throw new ClusterTlsException($"{what}: the certificate from {source} has no private key; give its key file");
        var tls = new ClusterTls(certificate, chain, authorities, source);
        // Our own certificate must pass the check our peers make, or every handshake would fail later and less clearly.
        if (tls.Problem(certificate, chain) is { } problem)
            throw new ClusterTlsException($"{what}: the certificate {certificate.Subject} from {source} is not accepted by its own authorities: {problem}");
        return tls;
    }

    private static X509Certificate2Collection LoadAuthorities(string path, string what)
    {
        if (!File.Exists(path)) throw new ClusterTlsException($"{what}: authority file '{path}' does not exist");
        var authorities = new X509Certificate2Collection();
        try { authorities.ImportFromPemFile(path); }
        catch (CryptographicException e) { throw new ClusterTlsException($"{what}: cannot read the authority file '{path}': {e.Message}", e); }
        if (authorities.Count == 0) throw new ClusterTlsException($"{what}: the authority file '{path}' holds no PEM certificate");
        return authorities;
    }

    private static bool IsPkcs12(string path) =>
        path.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".p12", StringComparison.OrdinalIgnoreCase);

    /// <summary>Why a peer's certificate is refused, or null when it chains to one of <see cref="Authorities"/> and is valid now.</summary>
    public string? Problem(X509Certificate? remote, IEnumerable<X509Certificate2>? intermediates = null)
    {
        if (remote is null) return "the peer presented no certificate";
        using var peer = remote as X509Certificate2 is { } c2 ? new X509Certificate2(c2) : X509CertificateLoader.LoadCertificate(remote.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        // A private cluster CA publishes no revocation list; membership, not revocation, removes a silo.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (intermediates is not null) foreach (var i in intermediates) chain.ChainPolicy.ExtraStore.Add(i);
        if (chain.Build(peer)) return null;
        var reasons = chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct();
        return $"{peer.Subject} does not chain to the cluster's authority ({string.Join("; ", reasons)})";
    }

    /// <summary>Why the peer of a handshake is refused, or null: the intermediates it sent are those of the chain the TLS
    /// stack built (its first element is the peer's own certificate).</summary>
    public string? Problem(X509Certificate? remote, X509Chain? chain) =>
        Problem(remote, chain?.ChainElements.Select(e => e.Certificate).Skip(1));

    /// <summary>A <see cref="RemoteCertificateValidationCallback"/> body: accepts exactly the peers <see cref="Problem(X509Certificate?, X509Chain?)"/> accepts.</summary>
    public bool Accepts(X509Certificate? remote, X509Chain? chain) => Problem(remote, chain) is null;

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var c in Chain) c.Dispose();
        foreach (var a in Authorities) a.Dispose();
    }
}
