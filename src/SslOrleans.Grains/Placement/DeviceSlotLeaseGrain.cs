using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Grains.Placement;

/// <summary>
/// Which running run holds which device slot. The register lives in memory: if its silo is lost, it starts empty
/// and learns the runs again as they lease (a run that survives keeps running on slots nobody else can see as
/// taken until it ends; the next lease of such a slot is then possible: a known limit, noted in the docs).
/// </summary>
public sealed class DeviceSlotLeaseGrain : Grain, IDeviceSlotLeaseGrain
{
    private readonly Dictionary<string, string> holders = []; // slot → run id

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
    }

    public Task ReleaseAsync(string runId)
    {
        foreach (var s in holders.Where(h => h.Value == runId).Select(h => h.Key).ToList()) holders.Remove(s);
        return Task.CompletedTask;
    }

    /// <summary>Drops the leases of runs that no longer run (ended, failed, or whose run grain was lost with its silo).</summary>
    private async Task ForgetEndedRunsAsync()
    {
        foreach (var run in holders.Values.Distinct().ToList())
        {
            var state = (await GrainFactory.GetGrain<IRunGrain>(run).GetStatusAsync()).State;
            if (state is not (RunState.Running or RunState.Evaluating))
                foreach (var s in holders.Where(h => h.Value == run).Select(h => h.Key).ToList()) holders.Remove(s);
        }
    }
}
