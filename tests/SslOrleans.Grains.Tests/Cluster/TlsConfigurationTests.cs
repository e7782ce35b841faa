using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using SslOrleans.Hosting;
using SslOrleans.Grains.Tests.Shared;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>Section "Tls": a certificate from PEM files, a PKCS#12 file or a store, checked against its authority at
/// start; every mistake named by its key.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class TlsConfigurationTests : IDisposable
{
    private readonly TestCertificates certificates = new();
    private readonly X509Certificate2 authority = TestCertificates.Authority("sslo test CA");

    private static IConfiguration Config(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>($"Tls:{v.Key}", v.Value))).Build();

    [Fact]
    public void Nothing_set_is_plain_TCP()
    {
        Assert.Null(TlsConfiguration.From(Config()));
    }

    [Fact]
    public void A_PEM_certificate_with_its_key_file_loads_and_accepts_peers_of_its_authority_only()
    {
        using var leaf = TestCertificates.Leaf(authority, "silo-a");
        var files = certificates.Pem("silo-a", leaf, authority);
        using var tls = TlsConfiguration.From(Config(("Certificate", files.Certificate), ("Key", files.Key), ("Authority", files.Authority)))!;
        Assert.Equal(leaf.Thumbprint, tls.Certificate.Thumbprint);
        Assert.True(tls.Certificate.HasPrivateKey);
        using var peer = TestCertificates.Leaf(authority, "silo-b");
        Assert.Null(tls.Problem(peer));
        using var other = TestCertificates.Authority("another CA");
        using var stranger = TestCertificates.Leaf(other, "stranger");
        Assert.Contains("does not chain to the cluster's authority", tls.Problem(stranger));
        Assert.Equal("the peer presented no certificate", tls.Problem(null));
    }

    [Fact]
    public void A_password_protected_pfx_loads_and_a_wrong_password_is_named_without_showing_it()
    {
        using var leaf = TestCertificates.Leaf(authority, "silo-p");
        var ca = certificates.Pem("ca-only", leaf, authority).Authority;
        var pfx = Path.Combine(certificates.Folder, "silo.pfx");
        File.WriteAllBytes(pfx, leaf.Export(X509ContentType.Pkcs12, "correct-horse"));
        using (var tls = TlsConfiguration.From(Config(("Certificate", pfx), ("Password", "correct-horse"), ("Authority", ca)))!)
            Assert.Equal(leaf.Thumbprint, tls.Certificate.Thumbprint);
        var e = Assert.Throws<SslConfigurationException>(() => TlsConfiguration.From(Config(("Certificate", pfx), ("Password", "battery-staple"), ("Authority", ca))));
        Assert.Equal("Tls:Certificate", e.Key);
        Assert.Contains(pfx, e.Message);
        Assert.DoesNotContain("battery-staple", e.Message);
    }

    [Fact]
    public void A_certificate_from_the_user_store_by_thumbprint()
    {
        using var leaf = TestCertificates.Leaf(authority, "silo-store");
        using var exportable = X509CertificateLoader.LoadPkcs12(leaf.Export(X509ContentType.Pkcs12, ""), "", X509KeyStorageFlags.Exportable | X509KeyStorageFlags.PersistKeySet);
        var ca = certificates.Pem("store-ca", leaf, authority).Authority;
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(exportable);
        try
        {
            using var tls = TlsConfiguration.From(Config(("Thumbprint", leaf.Thumbprint), ("Authority", ca)))!;
            Assert.Equal(leaf.Thumbprint, tls.Certificate.Thumbprint);
            Assert.Contains($"CurrentUser/My/{leaf.Thumbprint}", tls.Source);
        }
        finally
        {
            store.Remove(exportable);
        }
        var e = Assert.Throws<SslConfigurationException>(() => TlsConfiguration.From(Config(("Thumbprint", leaf.Thumbprint), ("Authority", ca))));
        Assert.Contains($"no certificate with thumbprint {leaf.Thumbprint}", e.Message);
    }

    [Fact]
    public void Mistakes_are_named_by_their_key()
    {
        using var leaf = TestCertificates.Leaf(authority, "silo-m");
        var files = certificates.Pem("silo-m", leaf, authority);
        using var other = TestCertificates.Authority("another CA");
        var foreignCa = certificates.Pem("foreign", leaf, other).Authority;
        void Refused(string key, string message, params (string, string?)[] values)
        {
            var e = Assert.Throws<SslConfigurationException>(() => TlsConfiguration.From(Config(values)));
            Assert.Equal(key, e.Key);
            Assert.Contains(message, e.Message);
        }
        Refused("Tls:Authority", "mutual TLS needs the PEM file of the authority", ("Certificate", files.Certificate), ("Key", files.Key));
        Refused("Tls:Key", "set without Tls:Certificate or Tls:Thumbprint", ("Key", files.Key));
        Refused("Tls:Thumbprint", "not both", ("Certificate", files.Certificate), ("Thumbprint", "AB"), ("Authority", files.Authority));
        Refused("Tls:StoreName", "belongs to a certificate from a store", ("Certificate", files.Certificate), ("StoreName", "My"), ("Authority", files.Authority));
        Refused("Tls:Certificate", "does not exist", ("Certificate", "/nonexistent.crt"), ("Authority", files.Authority));
        Refused("Tls:Certificate", "authority file '/nonexistent-ca.crt' does not exist", ("Certificate", files.Certificate), ("Authority", "/nonexistent-ca.crt"));
        Refused("Tls:Certificate", "is not accepted by its own authorities", ("Certificate", files.Certificate), ("Key", files.Key), ("Authority", foreignCa));
        Refused("Tls:Certficate", "unknown key", ("Certficate", files.Certificate));
    }

    public void Dispose()
    {
        authority.Dispose();
        certificates.Dispose();
    }
}
