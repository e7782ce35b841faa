using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Abstractions.Bench;

/// <summary>
/// A stand-in worker for `sslo bench exchange` (key: "bench-id/w"), placed on a device slot like a worker: it holds
/// a synthetic float64 gradient and a float32 state of the benchmark's size and exchanges them with the parameter
/// shards through the same code as a worker, with no model.
/// </summary>
[Alias("sslo.IExchangeBenchGrain")]
public interface IExchangeBenchGrain : IGrainWithStringKey
{
    /// <summary>Allocates the gradient (seeded random values) and state; returns the silo it runs on.</summary>
    [Alias("Prepare")] Task<string> PrepareAsync(ExchangeBenchSetup setup);
    /// <summary>Pushes the initial (zero) state to every shard, as worker 0 of a run does.</summary>
    [Alias("Initialize")] Task InitializeShardsAsync();
    /// <summary>Encodes and pushes the gradient for <paramref name="step"/>; returns the bytes sent.</summary>
    [Alias("Push")] Task<long> PushAsync(long step);
    /// <summary>Pulls every shard's state of <paramref name="version"/> into the local state; returns the bytes received.</summary>
    [Alias("Pull")] Task<long> PullAsync(long version);
    [Alias("Release")] Task ReleaseAsync();
}

[GenerateSerializer, Immutable, Alias("sslo.ExchangeBenchSetup")]
public sealed record ExchangeBenchSetup(
    [property: Id(0)] ShardMap Map,
    [property: Id(1)] int Slot,
    [property: Id(2)] long Parameters,
    [property: Id(3)] string GradientDtype);
