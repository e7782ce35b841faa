using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Hosting;

/// <summary>
/// On every silo: when membership declares a silo dead, asks the run registry to wake the running runs, so that a
/// run whose coordinator lived on the lost silo is activated on a survivor and goes on by itself (no client, no
/// reminder period to wait for). Every silo asks; the registry answers them one after the other.
/// </summary>
internal sealed class RunWatchdog(IClusterMembershipService membership, IGrainFactory grains, ILogger<RunWatchdog> log)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource stopping = new();

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(nameof(RunWatchdog), ServiceLifecycleStage.Active,
        started =>
        {
            Task.Run(WatchAsync).Ignore();
            return Task.CompletedTask;
        },
        stopped =>
        {
            stopping.Cancel();
            return Task.CompletedTask;
        });

    private async Task WatchAsync()
    {
        var dead = new HashSet<SiloAddress>();
        bool first = true;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stopping.Token))
            {
                var newlyDead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && dead.Add(m.SiloAddress)).ToList();
                // Silos dead before this one started are not news.
                if (first || newlyDead.Count == 0)
                {
                    first = false;
                    continue;
                }
                try
                {
                    int woken = await grains.GetGrain<IRunRegistryGrain>(0).WakeAsync();
                    log.LogInformation("Silo {Silos} declared dead: woke {Runs} running run(s)", string.Join(", ", newlyDead.Select(m => m.SiloAddress)), woken);
                }
                catch (Exception e) when (!stopping.IsCancellationRequested)
                {
                    log.LogWarning(e, "Waking the running runs after the loss of {Silos} failed", string.Join(", ", newlyDead.Select(m => m.SiloAddress)));
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }
}
