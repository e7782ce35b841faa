using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>Azurite stopped for 30 s while a run with --out az://… trains: training goes on, no torn checkpoint.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
[Collection(AzuriteBlobCollection.Name)]
public sealed class BlobOutageTests(AzuriteBlobFixture azurite)
{
    [Fact]
    public async Task Training_goes_on_while_blob_storage_is_down_for_30_seconds_and_no_checkpoint_is_torn()
    {
        var runs = new BlobRunTests(azurite);
        var location = BlobRunTests.Unique("outage");
        // A checkpoint every 5 steps; the SDK retries a refused request for about 47 s in all (1, 2, 4, 8, 16, 16 s).
        await using var run = ServerProcess.Start(Path.Combine(AppContext.BaseDirectory, "sslo"), azurite.Environment,
            BlobRunTests.RunArgs(location, "--checkpoint-every", "5"));
        var store = new CheckpointStoreFactory(azurite.Options).Open(location);
        using (var wait = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            while (await store.ReadLatestAsync(wait.Token) is null)
            {
                Assert.False(run.HasExited, $"the run ended before its first checkpoint: {run.Output}");
                await Task.Delay(50, wait.Token);
            }
        }
        await azurite.StopAsync();
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30));
            Assert.False(run.HasExited, $"the run failed while storage was down: {run.Output}");
        }
        finally
        {
            await azurite.StartAsync();
        }
        using (var exit = new CancellationTokenSource(TimeSpan.FromMinutes(3))) await run.WaitForExitAsync(exit.Token);
        Assert.True(run.ExitCode == 0, run.Output);

        var result = BlobRunTests.LastJson(run.Output.Split('\n').Last(l => l.StartsWith('{')));
        Assert.Equal(30, result.GetProperty("steps").GetInt64());
        // The steps went on past checkpoints that could not be written: they were skipped or failed, with a warning.
        var warnings = result.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()!).ToList();
        Assert.Contains(warnings, w => w.Contains("skipped") || w.Contains("failed"));
        Assert.Contains("sslo: warning: checkpoint of step", run.Output);

        // No torn checkpoint: every complete one verifies, latest names the final one, and the undisturbed run's model.
        var catalog = new CheckpointCatalog(store);
        var complete = (await catalog.ListAsync()).Where(e => e.IsComplete).ToList();
        Assert.Contains(complete, e => e.Step == 30 && e.IsLatest);
        foreach (var e in complete) Assert.Empty(await catalog.VerifyAsync(e.Summary!));
        var (_, undisturbed) = await runs.ReferenceAsync();
        Assert.Equal(undisturbed.GetProperty("param_l2").GetDouble(), result.GetProperty("param_l2").GetDouble());
    }
}
