using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SslOrleans.Abstractions.Security;

namespace SslOrleans.Hosting.Security;

/// <summary>
/// A private cluster authority and members' certificates made in-process (ECDSA P-256), for benchmarks and tests of the
/// authenticated transports: never for a real cluster, whose authority an operator keeps. The files it writes are what
/// <see cref="ClusterTls.FromFiles"/> reads, so a throwaway identity goes through the same loading and checks as a real one.
/// </summary>
public static class ThrowawayCertificates
{
    /// <summary>A self-signed certificate authority (with its private key), valid from an hour ago for a week.</summary>
    public static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddHours(-1), now.AddDays(7));
    }

    /// <summary>A member's certificate signed by <paramref name="authority"/>, for both ends of a connection (server and
    /// client authentication), naming loopback and <paramref name="name"/>; with its private key.</summary>
    public static X509Certificate2 Leaf(X509Certificate2 authority, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false)); // server and client authentication
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // a positive serial number
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(authority, now.AddMinutes(-30), authority.NotAfter.AddMinutes(-1), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>The three PEM files of one member: its certificate, its private key, the authority it trusts.</summary>
    public sealed record PemFiles(string Certificate, string Key, string Authority)
    {
        /// <summary>Loads them as <see cref="ClusterTls.FromFiles"/> does for a configured member.</summary>
        public ClusterTls Load(string what = "throwaway certificate") => ClusterTls.FromFiles(Certificate, Key, null, Authority, what);
    }

    /// <summary>Writes <paramref name="leaf"/>'s certificate and key and <paramref name="authority"/>'s certificate as
    /// "<paramref name="name"/>.crt", ".key" and "<paramref name="name"/>-ca.crt" into <paramref name="folder"/>.</summary>
    public static PemFiles WritePem(string folder, string name, X509Certificate2 leaf, X509Certificate2 authority)
    {
        Directory.CreateDirectory(folder);
        var files = new PemFiles(Path.Combine(folder, name + ".crt"), Path.Combine(folder, name + ".key"), Path.Combine(folder, name + "-ca.crt"));
        File.WriteAllText(files.Certificate, leaf.ExportCertificatePem());
        using (var key = leaf.GetECDsaPrivateKey() ?? throw new ArgumentException($"{leaf.Subject} holds no ECDSA private key", nameof(leaf)))
            File.WriteAllText(files.Key, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(files.Authority, authority.ExportCertificatePem());
        return files;
    }

    /// <summary>A fresh authority and one member identity per name, written under <paramref name="folder"/> and loaded:
    /// the members of one throwaway cluster, each accepting the others.</summary>
    public static ClusterTls[] Cluster(string folder, params string[] members)
    {
        using var authority = Authority("sslo throwaway cluster authority");
        return members.Select(m =>
        {
            using var leaf = Leaf(authority, m);
            return WritePem(folder, m, leaf, authority).Load($"throwaway certificate of {m}");
        }).ToArray();
    }
}
