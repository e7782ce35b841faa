using Microsoft.Extensions.Configuration;
using SslOrleans.Grains.Placement;

namespace SslOrleans.Hosting;

/// <summary>
/// The "SslTraining" configuration section onto <see cref="SslTrainingOptions"/>: Devices, MaxMessageBodySize (bytes),
/// ResponseTimeout, IdleCollectionAge and ProbeTimeout (hh:mm:ss), ConnectionsPerSilo, DataPlane and DataPort, the data
/// plane's limits DataPlaneMaxFrameBytes, DataPlaneMaxBufferedBytes (bytes), DataPlaneMaxConnections, DataPlaneReadTimeout and
/// DataPlaneIdleTimeout (hh:mm:ss), the run limits MaxParameters, MaxBatch and MaxMicroBatch, ExchangeBench and ShutdownTimeout. Silos and
/// cluster clients read the same section, so that
/// SslTraining__MaxMessageBodySize in the environment raises the limit on both sides.
/// </summary>
public static class SslTrainingConfiguration
{
    public const string Section = "SslTraining";

    private static readonly string[] Keys =
        [nameof(SslTrainingOptions.Devices), nameof(SslTrainingOptions.MaxMessageBodySize), nameof(SslTrainingOptions.ResponseTimeout), nameof(SslTrainingOptions.IdleCollectionAge),
         nameof(SslTrainingOptions.ProbeTimeout), nameof(SslTrainingOptions.ConnectionsPerSilo), nameof(SslTrainingOptions.DataPlane), nameof(SslTrainingOptions.DataPort),
         nameof(SslTrainingOptions.MaxParameters), nameof(SslTrainingOptions.MaxBatch), nameof(SslTrainingOptions.MaxMicroBatch), nameof(SslTrainingOptions.ExchangeBench),
         nameof(SslTrainingOptions.ShutdownTimeout),
         nameof(SslTrainingOptions.DataPlaneMaxFrameBytes), nameof(SslTrainingOptions.DataPlaneMaxBufferedBytes), nameof(SslTrainingOptions.DataPlaneMaxConnections),
         nameof(SslTrainingOptions.DataPlaneReadTimeout), nameof(SslTrainingOptions.DataPlaneIdleTimeout)];

    /// <summary>Sets what the section gives onto <paramref name="options"/> and leaves the rest as it is.</summary>
    public static void Bind(IConfiguration configuration, SslTrainingOptions options)
    {
        var s = new SectionReader(configuration, Section, Keys);
        if (s.Text(nameof(SslTrainingOptions.Devices)) is { } devices)
        {
            try { DeviceSlots.Parse(devices, Environment.ProcessorCount, s.Path(nameof(SslTrainingOptions.Devices))); }
            catch (ArgumentException e) { throw new SslConfigurationException(s.Path(nameof(SslTrainingOptions.Devices)), e.Message); }
            options.Devices = devices;
        }
        if (s.Int(nameof(SslTrainingOptions.MaxMessageBodySize), 1 << 20, int.MaxValue, $"must be a whole number of bytes from {1 << 20} (1 MiB) to {int.MaxValue}") is { } max)
            options.MaxMessageBodySize = max;
        if (s.Duration(nameof(SslTrainingOptions.ResponseTimeout), TimeSpan.FromSeconds(1)) is { } timeout)
            options.ResponseTimeout = timeout;
        if (s.Duration(nameof(SslTrainingOptions.IdleCollectionAge), TimeSpan.FromMinutes(1)) is { } age)
            options.IdleCollectionAge = age;
        if (s.Duration(nameof(SslTrainingOptions.ProbeTimeout), TimeSpan.FromMilliseconds(200)) is { } probe)
            options.ProbeTimeout = probe;
        if (s.Int(nameof(SslTrainingOptions.ConnectionsPerSilo), 1, 64, "must be a whole number from 1 to 64") is { } connections)
            options.ConnectionsPerSilo = connections;
        if (s.Text(nameof(SslTrainingOptions.DataPlane)) is { } plane)
            options.DataPlane = bool.TryParse(plane, out var on) ? on : throw s.Error(nameof(SslTrainingOptions.DataPlane), "must be true or false");
        if (s.Int(nameof(SslTrainingOptions.DataPort), 0, 65535, "must be 0 (any free port) or a TCP port") is { } port)
            options.DataPort = port;
        if (s.Long(nameof(SslTrainingOptions.MaxParameters), 1, long.MaxValue, "must be a whole number of parameters, at least 1") is { } parameters)
            options.MaxParameters = parameters;
        if (s.Int(nameof(SslTrainingOptions.MaxBatch), 2, int.MaxValue, "must be a whole number of images, at least 2") is { } batch)
            options.MaxBatch = batch;
        if (s.Int(nameof(SslTrainingOptions.MaxMicroBatch), 2, int.MaxValue, "must be a whole number of images, at least 2") is { } micro)
            options.MaxMicroBatch = micro;
        if (s.Text(nameof(SslTrainingOptions.ExchangeBench)) is { } bench)
            options.ExchangeBench = bool.TryParse(bench, out var enabled) ? enabled : throw s.Error(nameof(SslTrainingOptions.ExchangeBench), "must be true or false");
        if (s.Duration(nameof(SslTrainingOptions.ShutdownTimeout), TimeSpan.FromSeconds(5)) is { } shutdown)
            options.ShutdownTimeout = shutdown;
        BindDataPlaneLimits(s, options);
    }

    /// <summary>The data plane listener's limits (<see cref="Grains.Compute.TensorDataPlaneOptions"/>).</summary>
    private static void BindDataPlaneLimits(SectionReader s, SslTrainingOptions options)
    {
        const int largest = Grains.Compute.TensorDataPlaneOptions.LargestChunkBytes;
        if (s.Int(nameof(SslTrainingOptions.DataPlaneMaxFrameBytes), 1024, largest, $"must be a whole number of bytes from 1024 to {largest} (1 GiB, the largest chunk_bytes)") is { } frame)
            options.DataPlaneMaxFrameBytes = frame;
        if (s.Long(nameof(SslTrainingOptions.DataPlaneMaxBufferedBytes), 1024, long.MaxValue, "must be a whole number of bytes, at least 1024") is { } buffered)
            options.DataPlaneMaxBufferedBytes = buffered;
        if (options.DataPlaneMaxBufferedBytes < options.DataPlaneMaxFrameBytes)
            throw new SslConfigurationException(s.Path(nameof(SslTrainingOptions.DataPlaneMaxBufferedBytes)),
                $"{s.Path(nameof(SslTrainingOptions.DataPlaneMaxBufferedBytes))} '{options.DataPlaneMaxBufferedBytes}': must admit one frame of " +
                $"{s.Path(nameof(SslTrainingOptions.DataPlaneMaxFrameBytes))} ({options.DataPlaneMaxFrameBytes} bytes)");
        if (s.Int(nameof(SslTrainingOptions.DataPlaneMaxConnections), 1, 1 << 20, "must be a whole number of connections from 1 to 1048576") is { } connections)
            options.DataPlaneMaxConnections = connections;
        if (s.Duration(nameof(SslTrainingOptions.DataPlaneReadTimeout), TimeSpan.FromSeconds(1)) is { } read)
            options.DataPlaneReadTimeout = read;
        if (s.Duration(nameof(SslTrainingOptions.DataPlaneIdleTimeout), TimeSpan.FromSeconds(1)) is { } idleTimeout)
            options.DataPlaneIdleTimeout = idleTimeout;
    }

    /// <summary>The "Storage" section: ConnectionString or AccountUrl, SingleShotBytes, BlockBytes, Concurrency, MaxRetries,
    /// CacheFolder, AllowedRoots ("/data;/runs;az://checkpoints", or an array). SSLO_STORAGE in the environment wins over both account keys.</summary>
    public static void BindStorage(IConfiguration configuration, SslTrainingOptions options)
    {
        var s = new SectionReader(configuration, Storage.StorageOptions.Section,
            ["ConnectionString", "AccountUrl", "SingleShotBytes", "BlockBytes", "Concurrency", "MaxRetries", "CacheFolder", "AllowedRoots"], secrets: ["ConnectionString"]);
        var o = options.Storage;
        long? Bytes(string key) => s.Int(key, 1, 2000 << 20, "must be a whole number of bytes from 1 to 2000 MiB");
        options.Storage = o with
        {
            ConnectionString = s.Text("ConnectionString") ?? o.ConnectionString,
            AccountUrl = s.Text("AccountUrl") ?? o.AccountUrl,
            SingleShotBytes = Bytes("SingleShotBytes") ?? o.SingleShotBytes,
            BlockBytes = Bytes("BlockBytes") ?? o.BlockBytes,
            Concurrency = s.Int("Concurrency", 1, 64, "must be a whole number from 1 to 64") ?? o.Concurrency,
            MaxRetries = s.Int("MaxRetries", 0, 20, "must be a whole number from 0 to 20") ?? o.MaxRetries,
            CacheFolder = s.Text("CacheFolder") ?? o.CacheFolder,
            AllowedRoots = s.List("AllowedRoots") is { Count: > 0 } roots ? Roots(s, roots) : o.AllowedRoots,
        };
        if (options.Storage.Errors() is { Count: > 0 } errors) throw new SslConfigurationException(Storage.StorageOptions.Section, string.Join("; ", errors));
    }

    private static Storage.StorageRoots Roots(SectionReader s, IReadOnlyList<string> entries)
    {
        try { return Storage.StorageRoots.Parse(entries); }
        catch (ArgumentException e) { throw new SslConfigurationException(s.Path("AllowedRoots"), e.Message); }
    }

    public static SslTrainingOptions From(IConfiguration configuration)
    {
        var options = new SslTrainingOptions();
        Bind(configuration, options);
        BindStorage(configuration, options);
        options.Validate();
        return options;
    }
}
