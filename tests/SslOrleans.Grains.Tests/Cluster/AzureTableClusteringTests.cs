using SslOrleans.Client;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Hosting;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>A silo with Silo:Clustering=AzureTable against Azurite, joined by a client that discovers its cluster id.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class AzureTableClusteringTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task A_client_discovers_and_reaches_a_silo_clustered_in_an_Azure_table()
    {
        var clusterId = "sslo-az-" + Guid.NewGuid().ToString("N")[..8];
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Silo:Clustering"] = "AzureTable",
            ["Silo:ConnectionString"] = azurite.ConnectionString,
            ["Silo:ClusterId"] = clusterId,
            ["Silo:SiloPort"] = ClusterTestSupport.FreePort().ToString(),
            ["Silo:GatewayPort"] = ClusterTestSupport.FreePort().ToString(),
            ["SslTraining:Devices"] = "cpu@1",
        });
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo.UseSslSilo(builder.Configuration));
        using var silo = builder.Build();
        await silo.StartAsync();
        try
        {
            // The membership row as Orleans wrote it into Azurite: the columns discovery reads.
            var rows = new TableServiceClient(azurite.ConnectionString).GetTableClient(ClusterConnection.AzureTableName)
                .Query<TableEntity>(e => e.PartitionKey == clusterId).Where(e => e.GetString("Status") == "Active").ToList();
            var row = Assert.Single(rows);
            Assert.Equal(clusterId, row.GetString("DeploymentId"));
            var heartbeat = row.GetString("IAmAliveTime");
            Assert.True(ClusterConnection.IsFresh(heartbeat, DateTimeOffset.UtcNow), heartbeat);
            Assert.False(ClusterConnection.IsFresh(heartbeat, DateTimeOffset.UtcNow.AddDays(1)), $"'{heartbeat}' is not read as a time");

            var connection = ClusterConnection.Parse(azurite.ConnectionString);
            Assert.Null(connection.ClusterId);
            await using var client = await ClusterClientHost.ConnectAsync(connection);
            Assert.Equal(clusterId, client.Connection.ClusterId);
            Assert.Equal(ClusterConnection.DefaultServiceId, client.Connection.ServiceId);

            var runId = "azure-" + Guid.NewGuid().ToString("N")[..8];
            var status = await client.Client.GetGrain<IRunGrain>(runId).GetStatusAsync();
            Assert.Equal(runId, status.RunId);
            Assert.False(status.IsFinished);
        }
        finally
        {
            await silo.StopAsync(TimeSpan.FromSeconds(20));
        }

        // A silo that left is no active cluster any more.
        var error = await Assert.ThrowsAsync<ClusterConnectionException>(() => ClusterConnection.Parse(azurite.ConnectionString).ResolveAsync());
        Assert.Contains("no cluster with active silos", error.Message);
        Assert.Contains("AccountKey=***", error.Message);
        Assert.DoesNotContain("Eby8vdM02", error.Message);
    }
}
