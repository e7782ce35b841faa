using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService.SiloMetadata;
using SslOrleans.Grains.Placement;

namespace SslOrleans.Hosting;

/// <summary>This silo's own device slots, parsed once from <see cref="SslTrainingOptions.Devices"/>.</summary>
public sealed record LocalDeviceSlots(IReadOnlyList<DeviceSlot> Slots);

/// <summary>Reads the active silos from membership and what each offers from its silo metadata.</summary>
internal sealed class DeviceSlotDirectory(
    IClusterMembershipService membership, ISiloMetadataCache metadata, ILocalSiloDetails local,
    LocalDeviceSlots own, IOptions<SiloMessagingOptions> messaging) : IDeviceSlotDirectory
{
    public SiloSlots Local => new(local.SiloAddress, own.Slots, messaging.Value.MaxMessageBodySize);

    public async Task<IReadOnlyList<SiloSlots>> ReadAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = new List<SiloSlots>();
            var unknown = new List<SiloAddress>();
            foreach (var member in membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active))
            {
                if (Of(member.SiloAddress) is { } slots) found.Add(slots);
                else unknown.Add(member.SiloAddress);
            }
            if (unknown.Count == 0) return found.OrderBy(s => s.Silo.ToString(), StringComparer.Ordinal).ToList();
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"the device slots of silo {string.Join(", ", unknown)} are still unknown after {timeout.TotalSeconds:0} s: " +
                    "every silo of the cluster must run SslOrleans' silo host (AddSslTraining publishes its devices as silo metadata)");
            // Metadata of a silo that just joined is fetched in the background after the membership update.
            await Task.Delay(100);
        }
    }

    /// <summary>A silo's slots and limit, or null while its metadata has not arrived.</summary>
    public SiloSlots? Of(SiloAddress silo)
    {
        if (silo.Equals(local.SiloAddress)) return Local;
        var entries = metadata.GetSiloMetadata(silo).Metadata;
        if (!entries.TryGetValue(DeviceSlots.MetadataKey, out var devices) || !entries.TryGetValue(DeviceSlots.MaxMessageKey, out var max)) return null;
        var limit = int.TryParse(max, out var l) ? l : throw new InvalidOperationException($"silo {silo}: metadata {DeviceSlots.MaxMessageKey} '{max}' is not a number");
        return new SiloSlots(silo, DeviceSlots.Parse(devices, 1, $"silo {silo} metadata {DeviceSlots.MetadataKey}"), limit);
    }
}
