using System.Security.Cryptography.X509Certificates;
using SslOrleans.Abstractions.Security;
using SslOrleans.Hosting.Security;

namespace SslOrleans.Grains.Tests.Shared;

/// <summary>
/// Certificates for tests of the authenticated transports (the data plane, Orleans' silo and gateway TLS): an authority,
/// members signed by it, and their PEM files in a temporary folder that goes with <see cref="Dispose"/>. The making is
/// <see cref="ThrowawayCertificates"/> (also behind `sslo bench exchange --tls`), so tests and benchmark use one recipe.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "sslo-certs-" + Guid.NewGuid().ToString("N")[..8]);

    public static X509Certificate2 Authority(string name) => ThrowawayCertificates.Authority(name);

    public static X509Certificate2 Leaf(X509Certificate2 authority, string name) => ThrowawayCertificates.Leaf(authority, name);

    /// <summary>Writes <paramref name="leaf"/> (certificate and key) and <paramref name="authority"/> as PEM files named after <paramref name="name"/>.</summary>
    public ThrowawayCertificates.PemFiles Pem(string name, X509Certificate2 leaf, X509Certificate2 authority) =>
        ThrowawayCertificates.WritePem(Folder, name, leaf, authority);

    /// <summary>A member identity as a host loads it from its files: a new leaf of <paramref name="authority"/>, trusting it.</summary>
    public ClusterTls Member(X509Certificate2 authority, string name)
    {
        using var leaf = Leaf(authority, name);
        return Pem(name, leaf, authority).Load($"test certificate {name}");
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}
