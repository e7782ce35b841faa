using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Grains.Tests.Runs;

namespace SslOrleans.Grains.Tests.Elastic;

/// <summary>
/// A watcher of a run whose coordinator's silo is killed: its subscription dies with the silo, the run goes on
/// elsewhere, and the watch finds it there (renewal) and reports every step once, in order, to the run's end.
/// </summary>
[Trait("Category", ElasticCluster.Category)]
public sealed class WatchThroughFailoverTests
{
    [Fact]
    public async Task A_watch_reports_every_step_once_across_the_loss_of_the_coordinators_silo()
    {
        await using var cluster = await ElasticCluster.StartAsync(slotSilos: 3);
        var spec = RunHarness.Tiny("watch-failover-" + Guid.NewGuid().ToString("N")[..8], 2, 30) with
        {
            ParameterShards = 2, DataShards = 2, CheckpointMinutes = 0, Evaluate = false,
        };
        var host = cluster.Cluster.SecondarySilos[^1];
        var client = new TrainingClient(cluster.Client);
        await Grains.Placement.PlacementHint.On(host.SiloAddress, () => client.SubmitAsync(spec));

        var steps = new List<long>();
        var losses = new List<double>();
        RunStatus? final = null;
        bool killed = false;
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await foreach (var update in client.WatchAsync(spec.RunId, cancellation: cancel.Token))
        {
            if (update.Step is { } p)
            {
                steps.Add(p.Step);
                losses.Add(p.Loss);
            }
            if (!killed && steps.Count >= 4)
            {
                Assert.Equal(host.SiloAddress, await cluster.HostOfAsync(cluster.Client.GetGrain<IRunGrain>(spec.RunId)));
                await cluster.Cluster.KillSiloAsync(host);
                killed = true;
            }
            if (update.Status.IsFinished) final = update.Status;
        }
        Assert.True(killed);
        Assert.True(final is { State: RunState.Completed }, $"{final?.State}: {final?.Error}");
        Assert.Contains(final!.Result!.Warnings!, w => w.Contains("took the run over"));
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), steps);
        // A step its workers' commits applied while the coordinator was gone still has its loss (kept by the shards).
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"a step's loss is {l}"));
    }
}
