namespace SslOrleans.Grains.Placement;

/// <summary>Worker w of the run runs on device slot <see cref="SlotIndex"/> of <see cref="Silo"/>.</summary>
public sealed record WorkerSlot(int Worker, SiloAddress Silo, int SlotIndex, DeviceSlot Slot);

/// <summary>The pure placement decisions of a run: workers onto device slots, shards over silos.</summary>
public static class SlotAssignment
{
    /// <summary>The name of slot <paramref name="index"/> of a silo, as the slot register keeps it.</summary>
    public static string Name(SiloAddress silo, int index) => $"{silo}#{index}";

    /// <summary>
    /// One worker per free slot, never two on one: the silos' first slots first (in address order), then their
    /// second slots, …, so that W workers use min(W, silos with free slots) distinct silos. Slots named in
    /// <paramref name="held"/> belong to other running runs.
    /// </summary>
    public static WorkerSlot[] Assign(int workers, IReadOnlyList<SiloSlots> silos, IReadOnlyDictionary<string, string>? held = null)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "a run needs at least one worker");
        held ??= new Dictionary<string, string>();
        var ordered = silos.OrderBy(s => s.Silo.ToString(), StringComparer.Ordinal).ToList();
        var order = Free(silos, held).Take(workers).ToList();
        if (order.Count < workers)
        {
            int total = ordered.Sum(s => s.Slots.Count);
            int busy = ordered.Sum(s => Enumerable.Range(0, s.Slots.Count).Count(i => held.ContainsKey(Name(s.Silo, i))));
            var runs = busy == 0 ? "" : $", {busy} of them held by running run{(held.Values.Distinct().Count() == 1 ? "" : "s")} " +
                string.Join(", ", held.Values.Distinct().Order().Select(r => $"'{r}'"));
            throw new ArgumentException($"workers: {workers}, but the cluster offers {total} device slot{(total == 1 ? "" : "s")}{runs} " +
                $"({Describe(ordered)}); start more silos, give them more devices (SslTraining:Devices), wait for the other runs or lower workers");
        }
        return order.Select((o, w) => o with { Worker = w }).ToArray();
    }

    /// <summary>The slots not in <paramref name="held"/>, in the order workers take them: the silos' first slots (in
    /// address order), then their second slots, …; numbered from 0 in that order.</summary>
    public static IEnumerable<WorkerSlot> Free(IReadOnlyList<SiloSlots> silos, IReadOnlyDictionary<string, string> held)
    {
        var ordered = silos.OrderBy(s => s.Silo.ToString(), StringComparer.Ordinal).ToList();
        int n = 0;
        for (int round = 0; ordered.Any(s => s.Slots.Count > round); round++)
            foreach (var s in ordered.Where(s => s.Slots.Count > round && !held.ContainsKey(Name(s.Silo, round))))
                yield return new WorkerSlot(n++, s.Silo, round, s.Slots[round]);
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
