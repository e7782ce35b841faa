using Orleans.TestingHost;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Hosting;

namespace SslOrleans.Grains.Tests.Elastic;

/// <summary>
/// A cluster of real in-process silos that a test kills, stops and adds to while a run trains: the primary silo
/// (which holds the test cluster's membership table) offers no device slot and is never touched; every other silo
/// offers one CPU slot, so each worker has a silo of its own. Runs keep their records in grain storage on a real
/// Azurite blob service: in-memory grain storage lives on some silo, which a test may kill.
/// </summary>
public sealed class ElasticCluster : IAsyncDisposable
{
    /// <summary>The tests that kill and add silos: build/test.sh runs them with the first kernel family only. They
    /// compare a disturbed run with an undisturbed one on the same kernels, which another family changes in both.</summary>
    public const string Category = "Failover";

    public TestCluster Cluster { get; }
    public IClusterClient Client => Cluster.Client;
    private readonly Storage.AzuriteBlobFixture azurite;

    private ElasticCluster(TestCluster cluster, Storage.AzuriteBlobFixture azurite) => (Cluster, this.azurite) = (cluster, azurite);

    /// <summary>Holds a chosen worker's next step on every silo (one gate per test process: tests of this class run one at a time).</summary>
    public static StepGate Gate { get; } = new();

    public static async Task<ElasticCluster> StartAsync(int slotSilos)
    {
        var azurite = new Storage.AzuriteBlobFixture();
        await azurite.InitializeAsync();
        var builder = new TestClusterBuilder((short)(1 + slotSilos));
        builder.Options.ClusterId = "elastic-" + Guid.NewGuid().ToString("N")[..8];
        builder.Properties[GrainStorageKey] = azurite.ConnectionString;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new ElasticCluster(cluster, azurite);
    }

    /// <summary>Where a grain is active now (null when nowhere).</summary>
    public Task<SiloAddress?> HostOfAsync(IAddressable grain) =>
        Retrying(async () => await Client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain));

    /// <summary>A call from the test's client, asked again while it fails for a silo the test killed: the client keeps a
    /// gateway connection per silo, and one to a killed silo fails until the client drops that gateway.</summary>
    private static async Task<T> Retrying<T>(Func<Task<T>> call)
    {
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            try { return await call(); }
            catch (Exception e) when (DateTime.UtcNow < until && (e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException
                || e.GetType().Name.Contains("ConnectionFailed", StringComparison.Ordinal)))
            {
                await Task.Delay(500);
            }
        }
    }

    public SiloHandle Silo(SiloAddress address) => Cluster.Silos.Single(s => s.SiloAddress.Equals(address));

    /// <summary>A silo that hosts one of the run's workers but neither its run grain nor a parameter shard, and the worker's number.</summary>
    public async Task<(SiloHandle Silo, int Worker)> WorkerOnlySiloAsync(RunSpec spec, int workerNumbers)
    {
        var avoid = new HashSet<SiloAddress?> { Cluster.Primary!.SiloAddress, await HostOfAsync(Client.GetGrain<IRunGrain>(spec.RunId)) };
        for (int k = 0; k < spec.ParameterShards; k++)
            avoid.Add(await HostOfAsync(Client.GetGrain<Abstractions.Shards.IParameterShardGrain>($"{spec.RunId}/{k}")));
        for (int w = 0; w < workerNumbers; w++)
            if (await HostOfAsync(Client.GetGrain<Abstractions.Workers.IWorkerGrain>($"{spec.RunId}/{w}")) is { } host && !avoid.Contains(host))
                return (Silo(host), w);
        throw new InvalidOperationException($"no silo hosts only a worker of run {spec.RunId}: give the test more workers than shards + 1");
    }

    /// <summary>What each silo hosts for a run now: "run", "shard k", "mirror k", "worker w".</summary>
    public async Task<Dictionary<SiloAddress, List<string>>> RolesAsync(RunSpec spec, int workerNumbers)
    {
        var roles = new Dictionary<SiloAddress, List<string>>();
        async Task Add(IAddressable grain, string role)
        {
            if (await HostOfAsync(grain) is { } host) (roles.TryGetValue(host, out var list) ? list : roles[host] = []).Add(role);
        }
        await Add(Client.GetGrain<IRunGrain>(spec.RunId), "run");
        for (int k = 0; k < spec.ParameterShards; k++)
        {
            await Add(Client.GetGrain<Abstractions.Shards.IParameterShardGrain>($"{spec.RunId}/{k}"), $"shard {k}");
            await Add(Client.GetGrain<Abstractions.Shards.IShardMirrorGrain>($"{spec.RunId}/{k}"), $"mirror {k}");
        }
        for (int w = 0; w < workerNumbers; w++)
            await Add(Client.GetGrain<Abstractions.Workers.IWorkerGrain>($"{spec.RunId}/{w}"), $"worker {w}");
        return roles;
    }

    /// <summary>Waits until the run has finished at least <paramref name="steps"/> steps.</summary>
    public async Task<RunStatus> WaitForStepAsync(string runId, long steps, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = await new Client.TrainingClient(Client).GetStatusAsync(runId);
            if (status.Step >= steps) return status;
            if (status.IsFinished) throw new InvalidOperationException($"run {runId} ended ({status.State}: {status.Error}) at step {status.Step}, before step {steps}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {runId} is at step {status.Step} ({status.Phase}) after {timeout}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until the run has ended (completed, stopped or failed), asking through the SDK, which retries
    /// while a lost silo is being declared dead.</summary>
    public async Task<RunStatus> WaitForEndAsync(string runId, TimeSpan timeout)
    {
        var client = new Client.TrainingClient(Client);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var status = await client.GetStatusAsync(runId);
            if (status.IsFinished) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"run {runId} is at step {status.Step} ({status.Phase}) after {timeout}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await azurite.DisposeAsync();
    }

    private const string GrainStorageKey = "SsloTestGrainStorage";

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var name = silo.Configuration["Orleans:Name"] ?? silo.Configuration["SiloName"];
            silo.AddIncomingGrainCallFilter(Gate.OnIncomingAsync);
            var storage = silo.Configuration[GrainStorageKey]!;
            silo.AddSslTraining(o =>
            {
                o.Devices = name == "Primary" ? "none" : "cpu@1";
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
            });
            // After AddSslTraining, whose in-memory default this replaces.
            silo.AddAzureBlobGrainStorage(Grains.Runs.RunRecord.StorageName, o => o.BlobServiceClient = new Azure.Storage.Blobs.BlobServiceClient(storage));
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder client) => client.AddSslTrainingClient();
    }
}
