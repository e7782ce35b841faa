namespace SslOrleans.Abstractions.Runs;

/// <summary>
/// The runs that are running in the cluster (key: 0), kept in grain storage. When a silo is declared dead, every silo
/// asks the registry to wake its runs: a run whose coordinator was on the lost silo is then activated on a survivor,
/// which reads the run's record and goes on, with no client involved.
/// </summary>
[Alias("sslo.IRunRegistryGrain")]
public interface IRunRegistryGrain : IGrainWithIntegerKey
{
    [Alias("Add")] Task AddAsync(string runId);
    [Alias("Remove")] Task RemoveAsync(string runId);
    /// <summary>Calls every registered run (which activates it where it was lost); returns how many answered.</summary>
    [Alias("Wake")] Task<int> WakeAsync();
}
