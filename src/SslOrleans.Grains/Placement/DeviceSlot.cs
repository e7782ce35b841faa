namespace SslOrleans.Grains.Placement;

/// <summary>One compute device a silo offers to one worker: "cpu" or "cuda:N", with the libtorch threads the worker gets.</summary>
[GenerateSerializer, Immutable, Alias("sslo.DeviceSlot")]
public sealed record DeviceSlot([property: Id(0)] string Device, [property: Id(1)] int Threads)
{
    public bool IsCuda => Device.StartsWith("cuda:", StringComparison.Ordinal);

    public override string ToString() => $"{Device}@{Threads}";
}

/// <summary>
/// The device list a silo advertises (configuration <c>SslTraining:Devices</c>), as text:
/// comma-separated items <c>device[*count][@threads]</c>, where device is <c>cpu</c> or <c>cuda:N</c>.
/// <c>cpu</c> is one slot with every core; <c>cpu*2</c> two slots sharing the cores; <c>cuda:0@4,cuda:1@4</c>
/// two GPUs with 4 CPU threads each; <c>none</c> (or empty) offers no slot, so the silo hosts no worker.
/// </summary>
public static class DeviceSlots
{
    /// <summary>The silo metadata key carrying the formatted slot list.</summary>
    public const string MetadataKey = "sslo.devices";

    /// <summary>The silo metadata key carrying the silo's Orleans message body limit in bytes.</summary>
    public const string MaxMessageKey = "sslo.max-message-body";

    public static IReadOnlyList<DeviceSlot> Parse(string? text, int cores, string source = "SslTraining:Devices")
    {
        if (cores < 1) throw new ArgumentOutOfRangeException(nameof(cores), cores, "must be at least 1");
        text = text?.Trim() ?? "";
        if (text.Length == 0 || text.Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        var items = new List<(string Device, int? Threads)>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0) throw Bad(source, text, "an empty item");
            var item = raw;
            int? threads = null;
            int at = item.IndexOf('@');
            if (at >= 0)
            {
                threads = PositiveInt(item[(at + 1)..], source, text, $"'{raw}': threads after '@'");
                item = item[..at];
            }
            int count = 1;
            int star = item.IndexOf('*');
            if (star >= 0)
            {
                count = PositiveInt(item[(star + 1)..], source, text, $"'{raw}': a count after '*'");
                item = item[..star];
            }
            var device = item.Trim().ToLowerInvariant();
            if (device != "cpu" && !(device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device[5..], out var n) && n >= 0))
                throw Bad(source, text, $"'{raw}': the device must be cpu or cuda:N");
            if (device != "cpu" && count > 1) throw Bad(source, text, $"'{raw}': a GPU is one slot; list cuda:0,cuda:1,…");
            for (int i = 0; i < count; i++) items.Add((device, threads));
        }
        var gpus = items.Where(i => i.Device != "cpu").Select(i => i.Device).ToList();
        if (gpus.Distinct().Count() != gpus.Count) throw Bad(source, text, "a GPU is listed twice");
        // Slots without a thread count share the cores: libtorch's intra-op pool is per process.
        int auto = Math.Max(1, cores / items.Count);
        return items.Select(i => new DeviceSlot(i.Device, i.Threads ?? auto)).ToList();
    }

    /// <summary>The canonical text of a slot list (every thread count explicit), as advertised in the silo's metadata.</summary>
    public static string Format(IEnumerable<DeviceSlot> slots)
    {
        var text = string.Join(",", slots);
        return text.Length == 0 ? "none" : text;
    }

    /// <summary>A silo refuses at start to advertise a GPU its libtorch cannot use.</summary>
    public static void RequireAvailable(IReadOnlyList<DeviceSlot> slots)
    {
        var gpus = slots.Where(s => s.IsCuda).Select(s => int.Parse(s.Device[5..])).ToList();
        if (gpus.Count == 0) return;
        if (!TorchSharp.torch.cuda.is_available())
            throw new ArgumentException($"SslTraining:Devices lists {string.Join(",", gpus.Select(g => $"cuda:{g}"))}, but this silo's libtorch has no CUDA " +
                "(the default build uses TorchSharp-cpu; build with -p:SslCuda=true on a machine with the CUDA packages)");
        int count = TorchSharp.torch.cuda.device_count();
        if (gpus.Max() >= count)
            throw new ArgumentException($"SslTraining:Devices lists cuda:{gpus.Max()}, but this silo sees {count} GPU{(count == 1 ? "" : "s")}");
    }

    private static int PositiveInt(string text, string source, string whole, string what) =>
        int.TryParse(text.Trim(), out var v) && v >= 1 ? v : throw Bad(source, whole, $"{what} must be a whole number of at least 1");

    private static ArgumentException Bad(string source, string text, string problem) =>
        new($"{source} '{text}': {problem} (examples: cpu, cpu*2, cpu@4, cuda:0@4,cuda:1@4, none)");
}
