using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;
using SslOrleans.Grains.Placement;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Hosting;

public static class SslTrainingSiloExtensions
{
    /// <summary>
    /// Everything a silo needs to host training grains: checkpoint stores; its device slots, advertised with its
    /// message limit as silo metadata and used by the worker placement; and messaging limits that fit long steps
    /// (a worker's share of a step may take minutes on a CPU; Orleans' default timeout is 30 s).
    /// </summary>
    public static ISiloBuilder AddSslTraining(this ISiloBuilder silo, Action<SslTrainingOptions>? configure = null)
    {
        // Before any worker computes: keep oneDNN off kernels that are wrong on this processor (throws, naming
        // SSLO_ONEDNN_GUARD, on a bad value).
        Core.Numerics.OneDnnIsaGuard.Apply();
        var options = new SslTrainingOptions();
        configure?.Invoke(options);
        options.Validate();
        var slots = DeviceSlots.Parse(options.Devices, Environment.ProcessorCount);
        DeviceSlots.RequireAvailable(slots);
        // Checkpoints in folders or az:// blob storage; datasets and tokenizers read from az:// into the local cache.
        var stores = new CheckpointStoreFactory(options.Storage.WithEnvironment());
        silo.Services.TryAddSingleton<ICheckpointStoreFactory>(stores);
        silo.Services.TryAddSingleton(_ => new Storage.Data.BlobFolderCache(stores.Account));
        silo.Services.AddSingleton(new LocalDeviceSlots(slots));
        silo.Services.AddSingleton(options.DataPlaneOptions() with { Tls = options.Tls });
        silo.Services.AddSingleton<Grains.Compute.TensorDataPlane>();
        silo.Services.AddSingleton(new Grains.Runs.RunLimits
        {
            MaxParameters = options.MaxParameters, MaxBatch = options.MaxBatch, MaxMicroBatch = options.MaxMicroBatch,
            Roots = options.Storage.AllowedRoots,
        });
        // The exchange benchmark's grain pushes synthetic gradients on request: only silos that enable it host it.
        if (!options.ExchangeBench)
            silo.Services.PostConfigure<GrainTypeOptions>(o => o.Classes.Remove(typeof(Grains.Bench.ExchangeBenchGrain)));
        silo.Services.AddSingleton<DeviceSlotDirectory>();
        silo.Services.AddSingleton<IDeviceSlotDirectory>(sp => sp.GetRequiredService<DeviceSlotDirectory>());
        silo.Services.AddPlacementDirector<DeviceSlotPlacement, DeviceSlotPlacementDirector>();
        silo.UseSiloMetadata(new Dictionary<string, string>
        {
            [DeviceSlots.MetadataKey] = DeviceSlots.Format(slots),
            [DeviceSlots.MaxMessageKey] = options.MaxMessageBodySize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        silo.Configure<SiloMessagingOptions>(o =>
        {
            o.ResponseTimeout = options.ResponseTimeout;
            o.MaxMessageBodySize = options.MaxMessageBodySize;
        });
        silo.Configure<GrainCollectionOptions>(o =>
        {
            o.CollectionAge = options.IdleCollectionAge;
            // A worker deactivated by a graceful stop first finishes the step call it is in.
            o.DeactivationTimeout = options.ShutdownTimeout;
        });
        // SIGTERM: the host gives the silo this long to leave gracefully (Orleans stops its grains, then leaves membership).
        silo.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        // Runs, the run registry and the slot register keep their state in grain storage "sslo-runs": in memory unless
        // the host adds a durable provider of that name afterwards (UseSslSilo: Redis or Azure Blob, by clustering),
        // which then wins. Memory is right for one silo only: its state lives on some silo of the cluster.
        silo.AddMemoryGrainStorage(Grains.Runs.RunRecord.StorageName);
        // Orleans' default grain directory loses the entries a dead silo held for activations on live silos; a call then
        // creates a second activation of a grain that still lives: a second coordinator, an uninitialised worker beside
        // the real one. The distributed directory recovers its entries from the silos' activations after a failure.
#pragma warning disable ORLEANSEXP003 // experimental in Orleans 10; docs/architecture.md, "Failures"
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, RunWatchdog>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, GracefulLeave>();
        // A lost silo must be declared dead within seconds: its workers' micro-batches are redone only once calls to it
        // fail. Probes every 2 s, dead after 3 missed (about 6 s), instead of Orleans' 5 s × 3 plus votes. A probe is
        // answered by Orleans' own scheduler, not the compute threads, so a busy silo still answers in time.
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = options.ProbeTimeout;
            o.NumMissedProbesLimit = 3;
        });
        // Tensor chunks are large messages: several connections per peer silo serialise and carry them in parallel.
        silo.Configure<ConnectionOptions>(o => o.ConnectionsPerEndpoint = options.ConnectionsPerSilo);
        return silo;
    }

    public static IClientBuilder AddSslTrainingClient(this IClientBuilder client, Action<SslTrainingOptions>? configure = null)
    {
        var options = new SslTrainingOptions();
        configure?.Invoke(options);
        options.Validate();
        return Client.TrainingClientBuilderExtensions.AddTrainingClient(client, new Client.TrainingClientOptions { ResponseTimeout = options.ResponseTimeout, MaxMessageBodySize = options.MaxMessageBodySize });
    }
}
