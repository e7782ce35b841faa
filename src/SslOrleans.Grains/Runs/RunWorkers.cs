using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Grains.Placement;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// The run's workers as they are now. Worker n is grain "run-id/n" on one device slot; numbers are never reused, so a
/// worker lost with its silo is never confused with its replacement (a call to the lost one's key would activate a
/// fresh, uninitialised grain elsewhere). At each step boundary <see cref="ReconcileAsync"/> drops workers whose silo
/// left, starts workers on free slots up to the target (they initialise beside the running steps) and admits the ones
/// that are ready, synced to the current version.
/// </summary>
public sealed class RunWorkers(IGrainFactory grains, IDeviceSlotDirectory cluster, ILogger logger, string runId)
{
    public sealed record Member(int Number, WorkerSlot Slot, IWorkerGrain Grain, WorkerReady Ready)
    {
        public string Placement => $"{Slot.Silo} {Slot.Slot}";
        public override string ToString() => $"worker {Number} on {Slot.Silo}";
    }

    private sealed record Joining(int Number, WorkerSlot Slot, IWorkerGrain Grain, Task<WorkerReady> Ready);

    private readonly List<Member> members = [];
    private readonly List<Joining> joining = [];
    private readonly HashSet<string> silosUsed = [];

    public IReadOnlyList<Member> Members => members;

    /// <summary>The next worker number (persisted with the run, so a reactivated coordinator never reuses one).</summary>
    public int NextNumber { get; set; }

    /// <summary>Distinct silos that hosted a worker of the run.</summary>
    public int SilosUsed => silosUsed.Count;

    /// <summary>Silos stopping gracefully (<see cref="IRunGrain.ReleaseSiloAsync"/>): their workers are let go at the next
    /// boundary, after the step they were in, and no worker starts there.</summary>
    public HashSet<string> LeavingSilos { get; } = [];

    /// <summary>What changed and when: a lost worker, one that joined, one let go.</summary>
    public List<string> Events { get; } = [];

    /// <summary>Starts the first workers on their slots and waits for each (a failure here fails the run).</summary>
    public async Task StartAsync(RunSpec spec, IReadOnlyList<WorkerSlot> slots)
    {
        var started = slots.Select(slot => Begin(spec, slot)).ToList();
        foreach (var j in started) Admit(j, await j.Ready);
    }

    /// <summary>Takes over the workers of a run whose coordinator was lost: those still initialised on their silos
    /// join as they are (their replicas hold the run's state); the others are let go.</summary>
    public async Task AdoptAsync(IEnumerable<PersistedWorker> workers, long step)
    {
        foreach (var w in workers)
        {
            var grain = grains.GetGrain<IWorkerGrain>($"{runId}/{w.Number}");
            WorkerReady? ready = null;
            try { ready = await grain.GetReadyAsync().WaitAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception e) { logger.LogInformation("Run {Run}: worker {Worker} did not answer: {Message}", runId, w.Number, Message(e)); }
            if (ready is not null && ready.Silo == w.Silo.ToString())
            {
                members.Add(new Member(w.Number, w.ToSlot(), grain, ready));
                silosUsed.Add(ready.Silo);
            }
            else
            {
                Events.Add($"step {step}: worker {w.Number} on {w.Silo} did not survive the coordinator's loss");
                _ = Quietly(grain.ReleaseAsync());
            }
        }
    }

    /// <summary>The workers as the run's record keeps them.</summary>
    public List<PersistedWorker> ToRecord() => members.Select(m => new PersistedWorker(m.Number, m.Slot.Silo, m.Slot.SlotIndex, m.Slot.Slot)).ToList();

    /// <summary>Removes a worker that failed or missed its deadline; its work is redone by the others.</summary>
    public void Lose(Member member, long step, string why)
    {
        if (!members.Remove(member)) return;
        Events.Add($"step {step}: {member} lost ({why})");
        logger.LogWarning("Run {Run}: {Worker} lost at step {Step}: {Why}", runId, member, step, why);
        // If it is alive after all (a call that timed out), it lets go of its replica; a lost silo's grain is not called.
        if (why.Contains("deadline")) _ = Quietly(member.Grain.ReleaseAsync());
    }

    /// <summary>
    /// At the boundary before step <paramref name="version"/>: drops workers on silos that left, admits workers that
    /// finished initialising (synced to <paramref name="version"/>), lets go of workers above <paramref name="target"/>
    /// and starts new ones on free slots up to it. With fewer than <paramref name="min"/> workers it waits, up to
    /// <paramref name="wait"/>, for new ones. Returns the active silos.
    /// </summary>
    public async Task<IReadOnlyList<SiloSlots>> ReconcileAsync(RunSpec spec, int target, int min, long version, ShardMap map, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var silos = (await cluster.ReadAsync(TimeSpan.FromSeconds(30))).Where(s => !LeavingSilos.Contains(s.Silo.ToString())).ToList();
            foreach (var m in members.Where(m => LeavingSilos.Contains(m.Slot.Silo.ToString())).ToList())
            {
                // Between steps: nothing of its work is in flight, so nothing is redone.
                members.Remove(m);
                Events.Add($"step {version}: {m} let go (its silo is stopping)");
                logger.LogInformation("Run {Run}: {Worker} let go at step {Step}: its silo is stopping", runId, m, version);
                _ = Quietly(m.Grain.ReleaseAsync());
            }
            var active = silos.Select(s => s.Silo).ToHashSet();
            foreach (var m in members.Where(m => !active.Contains(m.Slot.Silo)).ToList())
                Lose(m, version, "its silo left the cluster");
            foreach (var j in joining.Where(j => !active.Contains(j.Slot.Silo)).ToList())
            {
                joining.Remove(j);
                Observe(j.Ready);
            }
            foreach (var j in joining.Where(j => j.Ready.IsCompleted).ToList())
            {
                joining.Remove(j);
                try
                {
                    var ready = await j.Ready;
                    await j.Grain.SyncAsync(map, version).WaitAsync(TimeSpan.FromMinutes(2));
                    Admit(j, ready);
                    Events.Add($"step {version}: worker {j.Number} joined on {j.Slot.Silo}");
                    logger.LogInformation("Run {Run}: worker {Worker} joined on {Silo} at step {Step}", runId, j.Number, j.Slot.Silo, version);
                }
                catch (Exception e)
                {
                    Events.Add($"step {version}: worker {j.Number} on {j.Slot.Silo} could not join ({Message(e)})");
                    logger.LogWarning(e, "Run {Run}: worker {Worker} could not join", runId, j.Number);
                }
            }
            // Above the target (the run was scaled down): the newest workers go first.
            foreach (var m in members.OrderByDescending(m => m.Number).Take(Math.Max(0, members.Count - target)).ToList())
            {
                members.Remove(m);
                Events.Add($"step {version}: {m} let go (scaled to {target})");
                _ = Quietly(m.Grain.ReleaseAsync());
            }
            int want = target - members.Count - joining.Count;
            if (want > 0)
            {
                var leases = grains.GetGrain<IDeviceSlotLeaseGrain>(0);
                var held = new Dictionary<string, string>(await leases.HeldAsync(runId));
                foreach (var slot in Slots()) held[SlotAssignment.Name(slot.Silo, slot.SlotIndex)] = runId;
                var free = SlotAssignment.Free(silos, held).Take(want).ToList();
                if (free.Count > 0)
                {
                    try
                    {
                        await leases.LeaseAsync(runId, Slots().Concat(free).Select(w => SlotAssignment.Name(w.Silo, w.SlotIndex)).ToArray());
                        foreach (var slot in free) joining.Add(Begin(spec, slot));
                    }
                    catch (ArgumentException e)
                    {
                        // Another run took a slot since the read: try again at the next boundary.
                        logger.LogInformation("Run {Run}: {Message}", runId, e.Message);
                    }
                }
            }
            if (members.Count >= Math.Min(min, target) && members.Count > 0) return silos;
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"step {version}: the run has {members.Count} worker{(members.Count == 1 ? "" : "s")}, fewer than min_workers {min}, " +
                    $"and no silo with a free device slot joined within {wait.TotalSeconds:0} s");
            // Waiting for joining workers to finish initialising, or for silos to join.
            var pending = joining.Select(j => (Task)j.Ready).ToList();
            await (pending.Count > 0 ? Task.WhenAny(Task.WhenAny(pending), Task.Delay(2000)) : Task.Delay(2000));
        }
    }

    /// <summary>Lets every worker go (the run ended).</summary>
    public async Task ReleaseAllAsync()
    {
        var all = members.Select(m => m.Grain).Concat(joining.Select(j => j.Grain)).ToList();
        foreach (var j in joining) Observe(j.Ready);
        members.Clear();
        joining.Clear();
        await Task.WhenAll(all.Select(g => Quietly(g.ReleaseAsync())));
    }

    private IEnumerable<WorkerSlot> Slots() => members.Select(m => m.Slot).Concat(joining.Select(j => j.Slot));

    private Joining Begin(RunSpec spec, WorkerSlot slot)
    {
        int n = NextNumber++;
        var grain = grains.GetGrain<IWorkerGrain>($"{runId}/{n}");
        var ready = PlacementHint.On(slot.Silo, () => grain.InitializeAsync(new WorkerInit(spec, n, slot.Slot.Threads, slot.Slot.Device)));
        return new Joining(n, slot with { Worker = n }, grain, ready);
    }

    private void Admit(Joining j, WorkerReady ready)
    {
        if (ready.Silo != j.Slot.Silo.ToString())
            throw new InvalidOperationException($"worker {j.Number} is active on silo {ready.Silo}, but its device slot is on {j.Slot.Silo}");
        members.Add(new Member(j.Number, j.Slot, j.Grain, ready));
        silosUsed.Add(ready.Silo);
    }

    private static void Observe(Task task) => task.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);

    private static async Task Quietly(Task task)
    {
        try { await task.WaitAsync(TimeSpan.FromSeconds(30)); } catch { /* a worker that is gone has nothing to let go of */ }
    }

    public static string Message(Exception e) => e is AggregateException { InnerException: { } inner } ? inner.Message : e.Message;
}
