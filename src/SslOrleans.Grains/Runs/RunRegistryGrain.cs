using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// The runs of the cluster (see <see cref="IRunRegistryGrain"/>): the running ones, which a wake calls (a run that
/// has ended leaves that set at the next wake), and every run started, newest last, for listing (the oldest finished
/// ones are forgotten beyond <see cref="Remembered"/>).
/// </summary>
public sealed class RunRegistryGrain(
    [PersistentState("registry", RunRecord.StorageName)] IPersistentState<HashSet<string>> runs,
    [PersistentState("known", RunRecord.StorageName)] IPersistentState<List<string>> known,
    ILogger<RunRegistryGrain> logger) : Grain, IRunRegistryGrain
{
    /// <summary>How many runs the list keeps; running runs are never dropped from it.</summary>
    public const int Remembered = 200;

    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(30);

    public async Task AddAsync(string runId)
    {
        if (runs.State.Add(runId)) await runs.WriteStateAsync();
        known.State.Remove(runId);
        known.State.Add(runId);
        while (known.State.Count > Remembered && known.State.FirstOrDefault(id => !runs.State.Contains(id)) is { } oldest)
            known.State.Remove(oldest);
        await known.WriteStateAsync();
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
                var status = await GrainFactory.GetGrain<IRunGrain>(id).GetStatusAsync().WaitAsync(StatusTimeout);
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

    public async Task<IReadOnlyList<RunStatus>> ListAsync()
    {
        // Status calls interleave with a run's steps, so this asks every run at once and waits for the slowest.
        var ids = known.State.AsEnumerable().Reverse().ToList();
        var answers = await Task.WhenAll(ids.Select(async id =>
        {
            try
            {
                return await GrainFactory.GetGrain<IRunGrain>(id).GetStatusAsync().WaitAsync(StatusTimeout);
            }
            catch (Exception e)
            {
                // A run on a silo being declared dead: listed with what is known of it, its state unknown for now.
                logger.LogInformation("Run registry: the status of run {Run} is unavailable: {Message}", id, e.Message);
                return new RunStatus(id, RunState.Pending, 0, 0, $"unavailable: {e.Message.Split('\n')[0]}", null, null, null);
            }
        }));
        return answers;
    }
}
