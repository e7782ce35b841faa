namespace SslOrleans.Abstractions.Runs;

/// <summary>
/// The cluster's register of which run holds which device slot (one grain, key 0), so that two runs never put
/// workers on one slot. A slot is named "silo-address#index". A lease counts only while its run is running:
/// the slots of a run that ended, failed or vanished with its silo are free again without a release.
/// </summary>
[Alias("sslo.IDeviceSlotLeaseGrain")]
public interface IDeviceSlotLeaseGrain : IGrainWithIntegerKey
{
    /// <summary>Slot → run id for the slots held by running runs other than <paramref name="exceptRun"/>.</summary>
    [Alias("Held")] Task<Dictionary<string, string>> HeldAsync(string exceptRun);
    /// <summary>Takes the slots for the run, or throws (naming the holder) if another running run holds one of them.</summary>
    [Alias("Lease")] Task LeaseAsync(string runId, string[] slots);
    [Alias("Release")] Task ReleaseAsync(string runId);
}
