namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>
/// Silos started with failing configurations that carry a secret (a Redis password, an Azure account key, a
/// certificate's password): each fails with a message naming the key, and the secret appears nowhere in what it printed.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class SecretsInOutputTests
{
    private const string Secret = "S3cretMarkQ";
    private const string SecretBase64 = "UzNjcmV0TWFya1E="; // an account key must be base64

    public static TheoryData<string, string, string> Configurations() => new()
    {
        { "Silo__Clustering=Redis|Silo__ConnectionString=redis://:" + Secret + "@127.0.0.1:1/notadb", "Silo:ConnectionString", "2" },
        { "Silo__Clustering=Redis|Silo__ConnectionString=127.0.0.1:1,password=" + Secret + ",bogus=1", "Silo:ConnectionString", "2" },
        { "Silo__Clustering=AzureTable|Silo__ConnectionString=DefaultEndpointsProtocol=http;AccountName=a;AccountKey=" + Secret + ";TableEndpoint=notaurl", "Silo:ConnectionString", "2" },
        { "Silo__Clustering=AzureTable|Silo__ConnectionString=DefaultEndpointsProtocol=http;AccountName=a;AccountKey=" + SecretBase64 + ";TableEndpoint=http://127.0.0.1:1/a;ClusterId=x", "Silo:ConnectionString", "2" },
        { "Tls__Certificate=/nonexistent/silo.pfx|Tls__Password=" + Secret + "|Tls__Authority=/nonexistent/ca.crt", "Tls:Certificate", "2" },
        { "Tls__Password=" + Secret, "Tls:Password", "2" },
        { "Storage__ConnectionString=AccountName=a;AccountKey=" + SecretBase64 + "|Storage__BlockBytes=0", "Storage:BlockBytes", "2" },
        // Valid in form, but nothing answers: the silo cannot start; what it prints must still hold no password.
        { "Silo__Clustering=Redis|Silo__ConnectionString=redis://:" + Secret + "@127.0.0.1:1", "", "*" },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public async Task A_failing_configuration_names_its_key_and_never_prints_the_secret(string variables, string key, string exitCode)
    {
        var env = variables.Split('|').Select(v => v.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        env["Silo__HttpPort"] = "0";
        env["Silo__SiloPort"] = ClusterTestSupport.FreePort().ToString();
        env["Silo__GatewayPort"] = ClusterTestSupport.FreePort().ToString();
        var silo = Path.Combine(ClusterTestSupport.RepoRoot, "artifacts", "silo", "SslOrleans.Silo.dll");
        var (code, stdout, stderr) = await ClusterTestSupport.RunAsync("dotnet", [silo], env, TimeSpan.FromMinutes(2));
        var printed = stdout + stderr;
        Assert.NotEqual(0, code);
        if (exitCode != "*") Assert.True(code.ToString() == exitCode, $"exit {code}: {printed}");
        Assert.Contains(key, printed);
        Assert.DoesNotContain(Secret, printed);
        Assert.DoesNotContain(SecretBase64, printed);
    }
}
