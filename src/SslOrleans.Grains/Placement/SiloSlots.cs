namespace SslOrleans.Grains.Placement;

/// <summary>An active silo of the cluster with the device slots it advertises and its message body limit.</summary>
public sealed record SiloSlots(SiloAddress Silo, IReadOnlyList<DeviceSlot> Slots, int MaxMessageBodySize);

/// <summary>The active silos of the cluster and what each offers, read from membership and silo metadata.</summary>
public interface IDeviceSlotDirectory
{
    /// <summary>Every active silo, ordered by address; waits (up to <paramref name="timeout"/>) until each one's metadata is known.</summary>
    Task<IReadOnlyList<SiloSlots>> ReadAsync(TimeSpan timeout);

    /// <summary>This silo's own slots and limit.</summary>
    SiloSlots Local { get; }
}
