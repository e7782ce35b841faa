using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Grains.Placement;

/// <summary>
/// Which running run holds which device slot (slot → run id), kept in grain storage: if the register's silo is
/// lost, its next activation elsewhere knows every lease, so no run is given slots another run still trains on.
/// </summary>
public sealed class DeviceSlotLeaseGrain(
    [PersistentState("leases", Runs.RunRecord.StorageName)] IPersistentState<Dictionary<string, string>> leases) : Grain, IDeviceSlotLeaseGrain
{
    private Dictionary<string, string> holders => leases.State;

    public async Task<Dictionary<string, string>> HeldAsync(string exceptRun)
    {
        await ForgetEndedRunsAsync();
        return holders.Where(h => h.Value != exceptRun).ToDictionary(h => h.Key, h => h.Value);
    }

    public async Task LeaseAsync(string runId, string[] slots)
    {
        await ForgetEndedRunsAsync();
        var taken = slots.Where(s => holders.TryGetValue(s, out var holder) && holder != runId).ToList();
        if (taken.Count > 0)
            throw new ArgumentException($"device slot{(taken.Count == 1 ? "" : "s")} {string.Join(", ", taken.Select(s => $"{s} (run '{holders[s]}')"))} " +
                "held by a running run; wait for it, stop it, or add silos");
        foreach (var s in holders.Where(h => h.Value == runId).Select(h => h.Key).ToList()) holders.Remove(s);
        foreach (var s in slots) holders[s] = runId;
        await leases.WriteStateAsync();
    }

    public async Task ReleaseAsync(string runId)
    {
        var held = holders.Where(h => h.Value == runId).Select(h => h.Key).ToList();
        foreach (var s in held) holders.Remove(s);
        if (held.Count > 0) await leases.WriteStateAsync();
    }

    /// <summary>Drops the leases of runs that no longer run (ended, failed, or whose run grain was lost with its silo).</summary>
    private async Task ForgetEndedRunsAsync()
    {
        bool changed = false;
        foreach (var run in holders.Values.Distinct().ToList())
        {
            var state = (await GrainFactory.GetGrain<IRunGrain>(run).GetStatusAsync()).State;
            if (state is not (RunState.Running or RunState.Evaluating))
                foreach (var s in holders.Where(h => h.Value == run).Select(h => h.Key).ToList()) changed |= holders.Remove(s);
        }
        if (changed) await leases.WriteStateAsync();
    }
}
