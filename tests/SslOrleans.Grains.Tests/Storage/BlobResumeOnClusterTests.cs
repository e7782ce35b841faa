using Orleans.TestingHost;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Grains.Tests.Runs;
using SslOrleans.Hosting;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>
/// No shared file system: a run on the embedded cluster reads its data from az://… and checkpoints to az://…; it is
/// stopped and resumed on a cluster of two other silos that read the same blobs, and ends with the model of the
/// uninterrupted run.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
[Collection(AzuriteBlobCollection.Name)]
public sealed class BlobResumeOnClusterTests(AzuriteBlobFixture azurite)
{
    [Fact]
    public async Task A_run_on_blob_data_and_checkpoints_resumes_on_a_two_silo_cluster_with_the_uninterrupted_model()
    {
        var runs = new BlobRunTests(azurite);
        var data = $"az://data/fashion-mnist-{Guid.NewGuid():N}"[..36];
        var (code, stdout, stderr) = await runs.SsloAsync("data", "upload", "--dataset", "fashion-mnist", "--to", data);
        Assert.True(code == 0, stderr);
        var uploaded = BlobRunTests.LastJson(stdout).GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Equal(4, uploaded.Count);

        var location = BlobRunTests.Unique("moved");
        (code, stdout, stderr) = await runs.SsloAsync(BlobRunTests.RunArgs(location, "--data", data, "--stop-after", "20"));
        Assert.True(code == 0, stderr);
        Assert.Equal("stopped", BlobRunTests.LastJson(stdout).GetProperty("state").GetString());

        var builder = new TestClusterBuilder(2);
        builder.Options.ClusterId = "blob-" + Guid.NewGuid().ToString("N")[..8];
        builder.Properties["Storage:ConnectionString"] = azurite.ConnectionString;
        builder.Properties["Storage:CacheFolder"] = ClusterTestSupport.TempDir("sslo-silo-cache");
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            var runId = location.Split('/')[^1];
            var status = await RunHarness.RunToEndAsync(cluster.Client, new RunSpec
            {
                RunId = runId, Out = location, Data = data, Resume = true, Workers = 2, Evaluate = false,
            }, TimeSpan.FromMinutes(4));
            Assert.True(status.State == RunState.Completed, status.Error);
            Assert.Equal(2, status.Result!.Silos);
            var (_, undisturbed) = await runs.ReferenceAsync();
            Assert.Equal(undisturbed.GetProperty("param_l2").GetDouble(), status.Result.ParamL2);
            Assert.Equal(await RunHarness.LatestParametersAsync(undisturbed.GetProperty("checkpoint").GetString()!.Replace("/step-00000030/manifest.json", ""), azurite.Options),
                         await RunHarness.LatestParametersAsync(location, azurite.Options));
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddSslTraining(o =>
        {
            o.Devices = "cpu@1";
            SslTrainingConfiguration.BindStorage(silo.Configuration, o);
        });
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder client) => client.AddSslTrainingClient();
    }
}
