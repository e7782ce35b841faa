using System.Text.Json;
using SslOrleans.Grains.Tests.Cli;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>
/// deploy/local/cluster.sh up 2 --tls: two silo processes speaking mutual TLS (Orleans and the tensor data plane) train
/// the model an embedded run trains, through the connection the script prints; clients without the cluster's
/// certificate are refused.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class ClusterTlsTests
{
    private static readonly string Script = Path.Combine(ClusterTestSupport.RepoRoot, "deploy", "local", "cluster.sh");

    private static readonly string[] Spec =
        ["pretrain", "--method", "byol", "--width", "4", "--workers", "2", "--threads-per-worker", "1", "--batch", "32", "--micro-batch", "8",
         "--steps", "3", "--seed", "0", "--no-eval"];

    [Fact]
    public async Task A_two_silo_cluster_with_tls_trains_the_embedded_model_and_refuses_clients_without_its_certificate()
    {
        var root = ClusterTestSupport.TempDir("sslo-tls");
        var state = Path.Combine(root, "state");
        var env = new Dictionary<string, string> { ["SSLO_CLUSTER_DIR"] = state, ["SSLO_REDIS_PORT"] = ClusterTestSupport.FreePort().ToString() };
        try
        {
            var up = await ClusterTestSupport.RunAsync(Script, ["up", "2", "--tls"], env, TimeSpan.FromMinutes(6));
            Assert.True(up.Code == 0, $"cluster.sh up 2 --tls failed ({up.Code}): {up.Err}");
            var connection = up.Out.TrimEnd().Split('\n')[^1];
            var tls = Path.Combine(state, "tls");
            Assert.EndsWith($"?tls-cert={tls}/client.crt&tls-key={tls}/client.key&tls-ca={tls}/ca.crt", connection);
            var ready = Directory.GetFiles(state, "silo-*.log").SelectMany(File.ReadLines).Where(l => l.Contains("sslo silo ready:")).ToList();
            Assert.Equal(2, ready.Count);
            Assert.All(ready, l => Assert.Matches("tls: CN=sslo silo-[12] .* peers must chain to CN=sslo development CA", l));

            var reference = await ParamL2Async(Spec.Concat(["--out", Path.Combine(root, "embedded")]).ToArray());
            var overTls = await ParamL2Async(Spec.Concat(["--out", Path.Combine(root, "tls"), "--cluster", connection]).ToArray());
            Assert.Equal(reference, overTls);

            // Without a certificate, and with one from another authority: both refused in the handshake, nothing trained.
            // The foreign client trusts the cluster's authority too, so that only the silos' check can refuse it.
            var plain = connection[..connection.IndexOf('?')];
            using var certificates = new Shared.TestCertificates();
            var foreign = ForeignClientFiles(certificates, Path.Combine(tls, "ca.crt"));
            var refused = await Task.WhenAll(
                SsloInProcess.RunAsync(Spec.Concat(["--out", Path.Combine(root, "plain"), "--cluster", plain]).ToArray()),
                SsloInProcess.RunAsync(Spec.Concat(["--out", Path.Combine(root, "foreign"), "--cluster",
                    $"{plain}?tls-cert={foreign.Certificate}&tls-key={foreign.Key}&tls-ca={foreign.Authorities}"]).ToArray()));
            foreach (var (code, stdout, stderr) in refused)
            {
                Assert.NotEqual(0, code);
                Assert.Equal("", stdout);
                Assert.Contains("cannot join cluster", stderr);
            }
            Assert.Contains("the cluster may require TLS", refused[0].Err);
            Assert.False(Directory.Exists(Path.Combine(root, "plain")) && Directory.EnumerateFileSystemEntries(Path.Combine(root, "plain")).Any());
            Assert.False(Directory.Exists(Path.Combine(root, "foreign")) && Directory.EnumerateFileSystemEntries(Path.Combine(root, "foreign")).Any());
            // The silos logged the refusals and are still up.
            var status = await ClusterTestSupport.RunAsync(Script, ["status"], env, TimeSpan.FromSeconds(30));
            Assert.True(status.Code == 0, status.Out + status.Err);
            Assert.Equal(2, status.Out.Split('\n').Count(l => l.Contains(": running") && l.Contains("silo ")));
        }
        finally
        {
            var down = await ClusterTestSupport.RunAsync(Script, ["down"], env, TimeSpan.FromMinutes(1));
            if (down.Code == 0 && Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<string> ParamL2Async(string[] args)
    {
        var (code, stdout, stderr) = await SsloInProcess.RunAsync(args);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
        Assert.Equal(3, json.RootElement.GetProperty("steps").GetInt64());
        return json.RootElement.GetProperty("param_l2").GetRawText();
    }

    /// <summary>A client certificate and key signed by an authority the cluster does not know, and an authority file
    /// with that authority and the cluster's.</summary>
    private static (string Certificate, string Key, string Authorities) ForeignClientFiles(Shared.TestCertificates certificates, string clusterAuthority)
    {
        using var authority = Shared.TestCertificates.Authority("not the cluster's CA");
        using var leaf = Shared.TestCertificates.Leaf(authority, "sslo client");
        var files = certificates.Pem("client", leaf, authority);
        var both = Path.Combine(certificates.Folder, "both.crt");
        File.WriteAllText(both, File.ReadAllText(clusterAuthority) + File.ReadAllText(files.Authority));
        return (files.Certificate, files.Key, both);
    }
}
