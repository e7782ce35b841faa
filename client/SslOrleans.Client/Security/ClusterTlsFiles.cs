using SslOrleans.Abstractions.Security;

namespace SslOrleans.Client;

/// <summary>
/// A client's mutual-TLS files, named in its cluster connection by reference:
/// <c>redis://host:port?tls-cert=/path/client.crt&amp;tls-key=/path/client.key&amp;tls-ca=/path/ca.crt</c> (the same three
/// keys after <c>localhost:PORT?</c>, or as <c>TlsCert=…;TlsKey=…;TlsCa=…</c> parts of an Azure connection string).
/// <c>deploy/local/cluster.sh up N --tls</c> prints such a connection.
/// </summary>
public sealed record ClusterTlsFiles(string Certificate, string? Key, string Authority)
{
    public const string CertificateKey = "tls-cert", KeyKey = "tls-key", AuthorityKey = "tls-ca";

    /// <summary>The same keys in an Azure Storage connection string's key=value parts.</summary>
    public const string AzureCertificateKey = "TlsCert", AzureKeyKey = "TlsKey", AzureAuthorityKey = "TlsCa";

    /// <summary>The files named in <paramref name="parts"/>, null when none is; a certificate without its authority (or the
    /// reverse) is an error naming the missing key.</summary>
    public static ClusterTlsFiles? From(IReadOnlyDictionary<string, string> parts, string certificateKey, string keyKey, string authorityKey, string what)
    {
        var certificate = parts.GetValueOrDefault(certificateKey);
        var key = parts.GetValueOrDefault(keyKey);
        var authority = parts.GetValueOrDefault(authorityKey);
        if (certificate is null && key is null && authority is null) return null;
        if (certificate is null) throw new ClusterConnectionException($"{what}: {(key is not null ? keyKey : authorityKey)} given without {certificateKey} (the client's certificate)");
        if (authority is null) throw new ClusterConnectionException($"{what}: {certificateKey} given without {authorityKey} (the cluster's authority, which the silos' certificates must chain to)");
        return new ClusterTlsFiles(Path.GetFullPath(certificate), key is null ? null : Path.GetFullPath(key), Path.GetFullPath(authority));
    }

    /// <summary>Loads the files (an unreadable or untrusted one is a <see cref="ClusterConnectionException"/> naming it).</summary>
    public ClusterTls Load()
    {
        try { return ClusterTls.FromFiles(Certificate, Key, password: null, Authority, $"--cluster {CertificateKey}"); }
        catch (ClusterTlsException e) { throw new ClusterConnectionException(e.Message, e); }
    }

    public override string ToString() => $"{CertificateKey}={Certificate}{(Key is null ? "" : $"&{KeyKey}={Key}")}&{AuthorityKey}={Authority}";
}
