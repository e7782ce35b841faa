using System.Text.Json;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Grains.Tests.Runs;

namespace SslOrleans.Grains.Tests.Operations;

/// <summary>
/// The client SDK as a monitoring program uses it: its dependency closure (no TorchSharp, no Orleans server), the
/// sample under client/samples built and run against a two-silo cluster, and the SDK's list, watch and stop.
/// </summary>
[Trait("Category", TwoSiloCluster.Category)]
public sealed class ClientSdkTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private static readonly string Sample = Path.Combine(ClusterTestSupport.RepoRoot, "client", "samples", "WatchRun");

    private static RunSpec Spec(string name, long steps) =>
        RunHarness.Tiny(name, workers: 2, steps: steps) with { ParameterShards = 1, DataShards = 2, CheckpointMinutes = 0, Evaluate = false };

    /// <summary>What a program referencing the SDK restores: packages and projects, from NuGet's own record of it.</summary>
    private static HashSet<string> RestoredLibraries(string assetsJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(assetsJson));
        return doc.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    private static async Task BuildSampleAsync()
    {
        var (code, stdout, stderr) = await ClusterTestSupport.RunAsync("dotnet", ["build", Sample, "-c", "Release", "--nologo", "-v", "q"], null, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, $"dotnet build {Sample}: exit {code}\n{stdout}\n{stderr}");
    }

    [Fact]
    public async Task The_sdk_and_the_sample_restore_neither_TorchSharp_nor_the_Orleans_server()
    {
        await BuildSampleAsync();
        foreach (var assets in new[]
                 {
                     Path.Combine(ClusterTestSupport.RepoRoot, "client", "SslOrleans.Client", "obj", "project.assets.json"),
                     Path.Combine(Sample, "obj", "project.assets.json"),
                 })
        {
            var libraries = RestoredLibraries(assets);
            // The graph is real: the client package and the SDK's own projects are in it.
            Assert.Contains("Microsoft.Orleans.Client", libraries);
            Assert.Contains("SslOrleans.Abstractions", libraries);
            var forbidden = libraries.Where(l => l.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)
                || l.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase)
                || l.Equals("Microsoft.Orleans.Server", StringComparison.OrdinalIgnoreCase)
                || l is "SslOrleans.Core" or "SslOrleans.Grains" or "SslOrleans.Hosting" or "SslOrleans.Checkpoints").ToList();
            Assert.True(forbidden.Count == 0, $"{assets} restores {string.Join(", ", forbidden)}");
        }
    }

    [Fact]
    public async Task The_sample_watches_a_run_to_its_end_through_the_gateways()
    {
        var spec = Spec("sdk-sample-" + Guid.NewGuid().ToString("N")[..6], steps: 12);
        var client = new TrainingClient(cluster.Grains);
        await BuildSampleAsync();
        await client.SubmitAsync(spec);
        var (code, stdout, stderr) = await ClusterTestSupport.RunAsync("dotnet",
            [Path.Combine(Sample, "bin", "Release", "net10.0", "WatchRun.dll"), cluster.LocalhostConnection, spec.RunId], null, TimeSpan.FromMinutes(4));
        Assert.True(code == 0, $"WatchRun: exit {code}\n{stdout}\n{stderr}");
        var lines = stdout.TrimEnd().Split('\n');
        var steps = lines.Where(l => l.StartsWith($"{spec.RunId} step ", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ')[2].Split('/')[0])).ToList();
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), steps);
        Assert.StartsWith($"{spec.RunId} completed at step 12: loss ", lines[^1]);
    }

    [Fact]
    public async Task List_watch_and_stop_through_a_client_that_joined_through_redis()
    {
        await using var joined = await ClusterClientHost.ConnectAsync(cluster.RedisConnection);
        Assert.Equal(cluster.ClusterId, joined.Connection.ClusterId);
        var client = new TrainingClient(joined.Client);
        var spec = Spec("sdk-stop-" + Guid.NewGuid().ToString("N")[..6], steps: 5000);
        await client.SubmitAsync(spec);

        var listed = (await client.ListAsync()).FirstOrDefault(r => r.RunId == spec.RunId);
        Assert.NotNull(listed);
        Assert.Equal(("byol", RunState.Running), (listed.Method, listed.State));
        Assert.NotNull(listed.StartedAt);

        // Watch until three steps came, then stop the run: the watch goes on to the stopped run's final status.
        var steps = new List<long>();
        RunStatus? final = null;
        bool stopped = false;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await foreach (var update in client.WatchAsync(spec.RunId, cancellation: cancel.Token))
        {
            if (update.Step is { } p) steps.Add(p.Step);
            if (steps.Count >= 3 && !stopped)
            {
                var at = await client.StopAsync(spec.RunId);
                Assert.Equal(RunState.Running, at.State);
                stopped = true;
            }
            if (update.Status.IsFinished) final = update.Status;
        }
        Assert.True(final is { State: RunState.Stopped }, $"{final?.State}: {final?.Error}");
        Assert.Equal(Enumerable.Range(1, steps.Count).Select(i => (long)i), steps);
        Assert.Equal(final!.Step, steps[^1]);
        Assert.True(final.Step < 5000);
        Assert.Equal(RunState.Stopped, (await client.ListAsync()).Single(r => r.RunId == spec.RunId).State);

        // The stop's checkpoint, read where the run wrote it, verifies.
        var (catalog, checkpoints) = await client.ListCheckpointsAsync(spec.RunId);
        var latest = Assert.Single(checkpoints, c => c.IsLatest);
        Assert.Equal(final.Step, latest.Step);
        Assert.Empty(await catalog.VerifyAsync(latest.Summary!));

        var unknown = "no-such-run-" + Guid.NewGuid().ToString("N")[..6];
        var e = await Assert.ThrowsAsync<RunNotFoundException>(() => client.StopAsync(unknown));
        Assert.Contains(unknown, e.Message);
    }
}
