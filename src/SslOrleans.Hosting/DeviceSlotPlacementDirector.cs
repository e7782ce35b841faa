using Orleans.Runtime.Placement;
using SslOrleans.Grains.Placement;

namespace SslOrleans.Hosting;

/// <summary>
/// Places a <see cref="DeviceSlotPlacement"/> grain (a worker) on the silo of the caller's placement hint, which
/// must offer device slots, or without a hint on a random silo known to offer some; never on a silo without slots.
/// </summary>
internal sealed class DeviceSlotPlacementDirector(DeviceSlotDirectory directory) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hint)
        {
            // A silo whose metadata has not reached this one yet is trusted: the caller chose it from the slots it saw.
            if (directory.Of(hint) is { Slots.Count: 0 })
                throw new OrleansException($"{target.GrainIdentity}: silo {hint} offers no device slot, so it hosts no worker");
            return Task.FromResult(hint);
        }
        var offering = compatible.Where(s => directory.Of(s) is { Slots.Count: > 0 }).ToArray();
        if (offering.Length == 0)
            throw new OrleansException($"{target.GrainIdentity}: no silo of the cluster offers a device slot (SslTraining:Devices)");
        return Task.FromResult(offering[Random.Shared.Next(offering.Length)]);
    }
}
