using Orleans.Placement;

namespace SslOrleans.Grains.Placement;

/// <summary>
/// Places a grain on a silo that advertises device slots (silo metadata <see cref="DeviceSlots.MetadataKey"/>):
/// on the silo named by the caller's placement hint, which the RunGrain sets to the silo of the worker's slot,
/// and never on a silo that offers none. The director lives with the silo host (SslOrleans.Hosting).
/// </summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking, Alias("sslo.DeviceSlotPlacement")]
public sealed class DeviceSlotPlacement : PlacementStrategy
{
    public static DeviceSlotPlacement Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class DeviceSlotPlacementAttribute() : PlacementAttribute(DeviceSlotPlacement.Instance);
