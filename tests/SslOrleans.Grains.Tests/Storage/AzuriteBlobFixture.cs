using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Storage;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>
/// Azurite's blob service (build/deps.sh --test installs it into .tools/azurite) on a free loopback port, its data in a
/// temporary folder so that it can be stopped and started again on the same port with its blobs (an outage).
/// </summary>
public sealed class AzuriteBlobFixture : IAsyncLifetime
{
    private ServerProcess? server;
    private string folder = "";

    public int Port { get; private set; }

    /// <summary>Azurite's well-known development account, at this fixture's blob port.</summary>
    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"BlobEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    /// <summary>Storage options for this Azurite, retrying briefly (tests of retries set their own).</summary>
    public StorageOptions Options => new() { ConnectionString = ConnectionString, CacheFolder = Path.Combine(folder, "cache") };

    /// <summary>The environment a child `sslo` process needs to reach this Azurite.</summary>
    public Dictionary<string, string> Environment => new()
    {
        [StorageOptions.EnvironmentVariable] = ConnectionString,
        ["XDG_CACHE_HOME"] = Path.Combine(folder, "xdg-cache"),
    };

    public async Task InitializeAsync()
    {
        folder = ClusterTestSupport.TempDir("sslo-azurite-blob");
        Port = ClusterTestSupport.FreePort();
        await StartAsync();
    }

    public async Task StartAsync()
    {
        var blob = Path.Combine(ClusterTestSupport.RepoRoot, ".tools", "azurite", "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(blob)) throw new InvalidOperationException($"{blob} is missing: build/deps.sh --test installs Azurite there (make test runs it)");
        server = ServerProcess.Start(blob, "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(),
            "--location", Path.Combine(folder, "data"), "--skipApiVersionCheck", "--disableTelemetry", "--silent");
        await server.WaitForPortAsync(Port, TimeSpan.FromSeconds(30));
    }

    /// <summary>Stops Azurite (SIGTERM, so it saves its blob index): requests are refused until <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (server is null) return;
        await server.TerminateAsync(TimeSpan.FromSeconds(20));
        server = null;
    }

    public async Task DisposeAsync()
    {
        if (server is not null) await server.DisposeAsync();
        // Its blobs (a 300 MB one among them) and the caches go with it.
        try { Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteBlobCollection : ICollectionFixture<AzuriteBlobFixture>
{
    public const string Name = "azurite-blob";
}
