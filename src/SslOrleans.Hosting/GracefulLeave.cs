using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Hosting;

/// <summary>
/// A silo asked to stop (SIGTERM, a pod's eviction) first hands its workers over: before Orleans deactivates anything,
/// it tells every run with a worker or a parameter shard here that this silo is leaving (<see cref="IRunGrain.ReleaseSiloAsync"/>),
/// and waits until those runs have let the workers go and moved the shards (from their mirrors) at their next step
/// boundary — the step they are in finishes and is applied, nothing is redone — or until the shutdown's time
/// (SslTraining:ShutdownTimeout) is spent. Then Orleans stops as usual: a coordinator that lived here is taken over
/// elsewhere (docs/architecture.md, "Failures"), and the silo leaves the membership itself instead of being declared dead.
/// </summary>
internal sealed class GracefulLeave(IGrainFactory grains, ILocalSiloDetails local, IClusterMembershipService membership, ILogger<GracefulLeave> log)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>Stops run in reverse stage order: this one before the HTTP endpoint (Active) and the ready line (Active + 1).</summary>
    public const int Stage = ServiceLifecycleStage.Active + 2;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(GracefulLeave), Stage, _ => Task.CompletedTask, LeaveAsync);

    private async Task LeaveAsync(CancellationToken cancellation)
    {
        var here = local.SiloAddress.ToString();
        // The last silo (an embedded cluster, a cluster going down) has no one to hand anything to: nothing to wait for.
        if (!membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(local.SiloAddress)))
            return;
        var registry = grains.GetGrain<IRunRegistryGrain>(0);
        try
        {
            var told = new HashSet<string>();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!cancellation.IsCancellationRequested)
            {
                var holding = (await registry.ListAsync().WaitAsync(cancellation))
                    .Where(r => !r.IsFinished && (r.Roles ?? []).Any(role => !role.StartsWith("coordinator ", StringComparison.Ordinal) && role.EndsWith(" " + here, StringComparison.Ordinal)))
                    .ToList();
                if (holding.Count == 0)
                {
                    if (told.Count > 0) log.LogInformation("Silo {Silo} stopping: run(s) {Runs} let its workers and shards go in {Seconds:0.0} s", here, string.Join(", ", told), clock.Elapsed.TotalSeconds);
                    return;
                }
                foreach (var run in holding.Where(r => told.Add(r.RunId)))
                {
                    log.LogInformation("Silo {Silo} stopping: run {Run} lets its workers and shards here go after their step", here, run.RunId);
                    await grains.GetGrain<IRunGrain>(run.RunId).ReleaseSiloAsync(here).WaitAsync(cancellation);
                }
                await Task.Delay(200, cancellation);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            log.LogWarning("Silo {Silo} stopping: the shutdown's time ran out before every run let its workers go; their work is redone elsewhere", here);
        }
        catch (Exception e)
        {
            // Leaving must not fail the shutdown: what was not handed over is recovered like a lost silo's work.
            log.LogWarning(e, "Silo {Silo} stopping: handing its workers over failed; their work is redone elsewhere", here);
        }
    }
}
