namespace SslOrleans.Hosting;

public sealed class SslTrainingOptions
{
    /// <summary>How long one grain call may take: a worker's share of a step, a feature block.</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromMinutes(30);
    /// <summary>Orleans' message body limit; tensor payloads are chunked well below it (run spec chunk_bytes).</summary>
    public int MaxMessageBodySize { get; set; } = 100 * 1024 * 1024;
    /// <summary>Idle activations older than this are collected; a run's grains are called every step.</summary>
    public TimeSpan IdleCollectionAge { get; set; } = TimeSpan.FromHours(2);
    /// <summary>Membership probes: a silo that misses three in a row is declared dead (about 3 × this), and the work
    /// of its workers is redone by the others. Lower detects losses sooner; too low declares busy silos dead.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>The device slots this silo offers, one worker each (see <see cref="Grains.Placement.DeviceSlots"/>):
    /// "cpu" (one slot, every core), "cpu*2", "cuda:0@4,cuda:1@4", or "none" for a silo that hosts no worker.</summary>
    public string Devices { get; set; } = "cpu";
    /// <summary>TCP connections from this silo to each other silo (Orleans' ConnectionOptions.ConnectionsPerEndpoint).</summary>
    public int ConnectionsPerSilo { get; set; } = 4;
    /// <summary>Move tensor chunks between silos over raw TCP (the tensor data plane) instead of Orleans messages.</summary>
    public bool DataPlane { get; set; } = true;
    /// <summary>The data plane's port on this silo's address; 0 = any free port (each shard tells its workers where).</summary>
    public int DataPort { get; set; }
    /// <summary>The largest model (trainable parameters, estimated before anything is built) a run coordinated here may have.</summary>
    public long MaxParameters { get; set; } = Grains.Runs.RunLimits.DefaultMaxParameters;
    /// <summary>The largest global batch a run coordinated here may have.</summary>
    public int MaxBatch { get; set; } = Grains.Runs.RunLimits.DefaultMaxBatch;
    /// <summary>The largest micro-batch (images one worker computes at once) a run coordinated here may have.</summary>
    public int MaxMicroBatch { get; set; } = Grains.Runs.RunLimits.DefaultMaxMicroBatch;
    /// <summary>Host the exchange benchmark's grain (sslo bench exchange); off on a production silo: it pushes and pulls
    /// synthetic gradients on request.</summary>
    public bool ExchangeBench { get; set; }
    /// <summary>Largest payload of one data-plane frame; must admit the runs' chunk_bytes (RunSpec allows up to 1 GiB).</summary>
    public int DataPlaneMaxFrameBytes { get; set; } = Grains.Compute.TensorDataPlaneOptions.LargestChunkBytes;
    /// <summary>Bytes of received data-plane payloads a silo holds at once across its connections (at least one frame).</summary>
    public long DataPlaneMaxBufferedBytes { get; set; } = 2L * Grains.Compute.TensorDataPlaneOptions.LargestChunkBytes;
    /// <summary>Data-plane connections a silo serves at once; further ones are closed on accept.</summary>
    public int DataPlaneMaxConnections { get; set; } = 1024;
    /// <summary>A data-plane frame, once begun, must arrive whole within this.</summary>
    public TimeSpan DataPlaneReadTimeout { get; set; } = TimeSpan.FromMinutes(2);
    /// <summary>A data-plane connection with no frame for this long is closed.</summary>
    public TimeSpan DataPlaneIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);
    /// <summary>The blob storage account of az:// locations and its transfer settings (section "Storage"; SSLO_STORAGE wins).</summary>
    public Storage.StorageOptions Storage { get; set; } = new();
    /// <summary>How long a silo asked to stop (SIGTERM, a pod's eviction) may take to leave: the steps its workers are in
    /// finish and its grains are handed over within this; keep it below Kubernetes' terminationGracePeriodSeconds.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(90);
    /// <summary>The cluster's mutual-TLS identity (section "Tls"): the tensor data plane authenticates with it too; null = plain TCP.</summary>
    public Abstractions.Security.ClusterTls? Tls { get; set; }

    public void Validate()
    {
        if (ResponseTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ResponseTimeout), ResponseTimeout, "must be positive");
        if (MaxMessageBodySize < 1 << 20) throw new ArgumentOutOfRangeException(nameof(MaxMessageBodySize), MaxMessageBodySize, "must be at least 1 MiB");
        if (ProbeTimeout < TimeSpan.FromMilliseconds(200)) throw new ArgumentOutOfRangeException(nameof(ProbeTimeout), ProbeTimeout, "must be at least 200 ms");
        if (IdleCollectionAge < TimeSpan.FromMinutes(1)) throw new ArgumentOutOfRangeException(nameof(IdleCollectionAge), IdleCollectionAge, "must be at least one minute");
        Grains.Placement.DeviceSlots.Parse(Devices, Environment.ProcessorCount);
        if (DataPort is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(DataPort), DataPort, "must be 0 (any free port) or a TCP port");
        // The data plane's own check, reported under this class's property name (MaxFrameBytes → DataPlaneMaxFrameBytes).
        try { DataPlaneOptions(); }
        catch (ArgumentOutOfRangeException e) { throw new ArgumentOutOfRangeException("DataPlane" + e.ParamName, e.ActualValue, e.Message); }
        if (Storage.Errors() is { Count: > 0 } storage) throw new ArgumentException(string.Join("; ", storage), nameof(Storage));
        if (ShutdownTimeout < TimeSpan.FromSeconds(5)) throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), ShutdownTimeout, "must be at least 5 s");
        if (MaxParameters < 1) throw new ArgumentOutOfRangeException(nameof(MaxParameters), MaxParameters, "must be at least 1");
        if (MaxBatch < 2) throw new ArgumentOutOfRangeException(nameof(MaxBatch), MaxBatch, "must be at least 2");
        if (MaxMicroBatch < 2) throw new ArgumentOutOfRangeException(nameof(MaxMicroBatch), MaxMicroBatch, "must be at least 2");
        if (ConnectionsPerSilo is < 1 or > 64) throw new ArgumentOutOfRangeException(nameof(ConnectionsPerSilo), ConnectionsPerSilo, "must be between 1 and 64");
    }

    /// <summary>The tensor data plane's settings from these options (its TLS identity is the host's to add: <c>with { Tls = … }</c>).</summary>
    public Grains.Compute.TensorDataPlaneOptions DataPlaneOptions() => new Grains.Compute.TensorDataPlaneOptions(DataPlane, DataPort)
    {
        MaxFrameBytes = DataPlaneMaxFrameBytes, MaxBufferedBytes = DataPlaneMaxBufferedBytes, MaxConnections = DataPlaneMaxConnections,
        ReadTimeout = DataPlaneReadTimeout, IdleTimeout = DataPlaneIdleTimeout,
    }.Validated();
}
