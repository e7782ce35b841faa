using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Grains.Runs;

/// <summary>The running runs (see <see cref="IRunRegistryGrain"/>); a run that has ended leaves at the next wake.</summary>
public sealed class RunRegistryGrain(
    [PersistentState("registry", RunRecord.StorageName)] IPersistentState<HashSet<string>> runs,
    ILogger<RunRegistryGrain> logger) : Grain, IRunRegistryGrain
{
    public async Task AddAsync(string runId)
    {
        if (runs.State.Add(runId)) await runs.WriteStateAsync();
    }

    public async Task RemoveAsync(string runId)
    {
        if (runs.State.Remove(runId)) await runs.WriteStateAsync();
    }

    public async Task<int> WakeAsync()
    {
        int answered = 0;
        foreach (var id in runs.State.ToList())
        {
            try
            {
                var status = await GrainFactory.GetGrain<IRunGrain>(id).GetStatusAsync().WaitAsync(TimeSpan.FromSeconds(30));
                answered++;
                if (status.IsFinished) runs.State.Remove(id);
            }
            catch (Exception e)
            {
                // Its coordinator's silo may not be declared dead yet: the next membership change wakes it again.
                logger.LogInformation("Run registry: waking run {Run} failed: {Message}", id, e.Message);
            }
        }
        await runs.WriteStateAsync();
        return answered;
    }
}
