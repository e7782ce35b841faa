using SslOrleans.Abstractions.Bench;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Core.Training;
using SslOrleans.Grains.Compute;
using SslOrleans.Grains.Placement;

namespace SslOrleans.Grains.Bench;

/// <summary>The benchmark's stand-in worker: a worker's exchange without its model (see <see cref="IExchangeBenchGrain"/>).</summary>
[DeviceSlotPlacement]
public sealed class ExchangeBenchGrain(ILocalSiloDetails silo, TensorDataPlane dataPlane) : Grain, IExchangeBenchGrain
{
    private ExchangeBenchSetup? setup;
    private double[] gradients = [];
    private FlatState state = new([], [], []);
    private readonly ChunkBuffers pushBuffers = new();

    public async Task<string> PrepareAsync(ExchangeBenchSetup request)
    {
        if (request.Parameters is < 1 or > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(request), request.Parameters, "params must be between 1 and 2^31 - 1");
        setup = request;
        // Filling millions of values stays off the grain scheduler.
        gradients = await Task.Run(() =>
        {
            var random = new Random(request.Slot);
            var g = new double[request.Parameters];
            for (int i = 0; i < g.Length; i++) g[i] = (float)(random.NextDouble() - 0.5) * 1e-2;
            return g;
        });
        state = new FlatState(new float[request.Parameters], [], []);
        return silo.SiloAddress.ToString();
    }

    public Task InitializeShardsAsync()
    {
        var s = Setup();
        return ShardExchange.InitializeAsync(GrainFactory, s.Map, ShardExchange.InitialChunks(s.Map, state));
    }

    public async Task<long> PushAsync(long step)
    {
        var s = Setup();
        // Encoding is part of a worker's exchange: it runs off the grain scheduler, as on a worker's compute thread.
        var chunks = await Task.Run(() => ShardExchange.GradientChunks(s.Map, step, new MicroBatchRange(s.Slot, 1), gradients, [], s.GradientDtype, pushBuffers));
        await ShardExchange.PushAsync(GrainFactory, dataPlane, s.Map, chunks);
        return ShardExchange.Bytes(chunks);
    }

    public async Task<long> PullAsync(long version)
    {
        var s = Setup();
        var pulled = await ShardExchange.PullAsync(GrainFactory, dataPlane, s.Map, version, $"bench worker {s.Slot}");
        await Task.Run(() => ShardExchange.Write(s.Map, pulled, state));
        return pulled.Sum(p => p.Sum(c => (long)c.Data.Length));
    }

    public Task ReleaseAsync()
    {
        gradients = [];
        state = new([], [], []);
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private ExchangeBenchSetup Setup() => setup ?? throw new InvalidOperationException($"bench worker {this.GetPrimaryKeyString()} is not prepared");
}
