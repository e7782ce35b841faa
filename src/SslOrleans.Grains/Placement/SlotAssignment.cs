namespace SslOrleans.Grains.Placement;

/// <summary>Worker w of the run runs on device slot <see cref="SlotIndex"/> of <see cref="Silo"/>.</summary>
public sealed record WorkerSlot(int Worker, SiloAddress Silo, int SlotIndex, DeviceSlot Slot);

/// <summary>The pure placement decisions of a run: workers onto device slots, shards over silos.</summary>
public static class SlotAssignment
{
    /// <summary>
    /// One worker per slot, never two on one: the silos' first slots first (in address order), then their second
    /// slots, …, so that W workers use min(W, silos with slots) distinct silos.
    /// </summary>
    public static WorkerSlot[] Assign(int workers, IReadOnlyList<SiloSlots> silos)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "a run needs at least one worker");
        var ordered = silos.OrderBy(s => s.Silo.ToString(), StringComparer.Ordinal).ToList();
        var order = new List<(SiloSlots Silo, int Index)>();
        for (int round = 0; order.Count < workers && ordered.Any(s => s.Slots.Count > round); round++)
            order.AddRange(ordered.Where(s => s.Slots.Count > round).Select(s => (s, round)));
        if (order.Count < workers)
            throw new ArgumentException($"workers: {workers}, but the cluster offers {order.Count} device slot{(order.Count == 1 ? "" : "s")} " +
                $"({Describe(ordered)}); start more silos, give them more devices (SslTraining:Devices) or lower workers");
        return order.Take(workers).Select((o, w) => new WorkerSlot(w, o.Silo.Silo, o.Index, o.Silo.Slots[o.Index])).ToArray();
    }

    /// <summary>The first <paramref name="count"/> silos of the cycle over all active silos in address order (silo k mod S).</summary>
    public static SiloAddress[] Spread(int count, IReadOnlyList<SiloSlots> silos)
    {
        if (silos.Count == 0) throw new ArgumentException("the cluster has no active silo");
        var ordered = silos.Select(s => s.Silo).OrderBy(s => s.ToString(), StringComparer.Ordinal).ToArray();
        return Enumerable.Range(0, count).Select(k => ordered[k % ordered.Length]).ToArray();
    }

    /// <summary>The smallest message body limit of the silos, which every payload of the run must fit.</summary>
    public static (SiloAddress Silo, int Limit) SmallestMessageLimit(IReadOnlyList<SiloSlots> silos) =>
        silos.Select(s => (s.Silo, s.MaxMessageBodySize)).MinBy(s => s.MaxMessageBodySize);

    private static string Describe(IReadOnlyList<SiloSlots> silos) =>
        silos.Count == 0 ? "no active silo" : string.Join("; ", silos.Select(s => $"{s.Silo}: {DeviceSlots.Format(s.Slots)}"));
}
