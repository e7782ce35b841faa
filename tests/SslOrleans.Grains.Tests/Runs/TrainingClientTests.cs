using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

namespace SslOrleans.Grains.Tests.Runs;

/// <summary>The SDK on a run id the cluster never saw: a clear error naming it, not a run pending for ever.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
[Collection(ClusterCollection.Name)]
public sealed class TrainingClientTests(ClusterFixture fixture)
{
    private TrainingClient Client => new(fixture.Cluster.Client);

    [Fact]
    public async Task Status_watch_and_scale_of_a_run_never_started_name_the_run_id()
    {
        var runId = "never-started-" + Guid.NewGuid().ToString("N")[..8];
        var status = await Assert.ThrowsAsync<RunNotFoundException>(() => Client.GetStatusAsync(runId));
        Assert.IsAssignableFrom<KeyNotFoundException>(status);
        Assert.Equal(runId, status.RunId);
        Assert.Contains($"run '{runId}' is unknown to this cluster", status.Message);

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var watch = await Assert.ThrowsAsync<RunNotFoundException>(async () =>
        {
            await foreach (var _ in Client.WatchAsync(runId, cancellation: cancel.Token)) { }
        });
        Assert.Contains(runId, watch.Message);

        var scale = await Assert.ThrowsAsync<RunNotFoundException>(() => Client.ScaleAsync(runId, 2));
        Assert.Contains(runId, scale.Message);
    }

    [Fact]
    public async Task A_started_run_is_known_while_it_runs_and_after_it_ends()
    {
        var spec = RunHarness.Tiny("known", workers: 1, steps: 2);
        var started = await Client.SubmitAsync(spec);
        Assert.False(TrainingClient.IsUnknown(started));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        RunStatus? last = null;
        await foreach (var u in Client.WatchAsync(spec.RunId, cancellation: cancel.Token)) last = u.Status;
        Assert.True(last!.State == RunState.Completed, last.Error);
        Assert.Equal(RunState.Completed, (await Client.GetStatusAsync(spec.RunId)).State);
    }
}
