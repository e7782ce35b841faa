namespace SslOrleans.Abstractions.Runs;

/// <summary>
/// The runs of the cluster (key: 0), kept in grain storage. When a silo is declared dead, every silo
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
    /// <summary>The status of every run started on the cluster that it still remembers (the running ones and the
    /// newest finished ones), newest first.</summary>
    [Alias("List")] Task<IReadOnlyList<RunStatus>> ListAsync();
}
