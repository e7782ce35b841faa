using SslOrleans.Storage;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Checkpoints;

/// <summary>
/// A run's checkpoints, for a program that consumes them: <c>CheckpointSource.Open("az://runs/demo")</c> (or a folder,
/// a step folder, a manifest.json), then <see cref="ListAsync"/> and <see cref="OpenAsync"/>. No cluster, no Orleans.
/// </summary>
public sealed class CheckpointSource
{
    private CheckpointSource(ICheckpointStore store, long? step)
    {
        Catalog = new CheckpointCatalog(store);
        NamedStep = step;
    }

    /// <param name="location">A run folder or az://CONTAINER/PREFIX (its latest checkpoint), a step folder or a manifest.json.</param>
    /// <param name="storage">The blob account of az:// locations; null = <see cref="StorageOptions.EnvironmentVariable"/>.</param>
    public static CheckpointSource Open(string location, StorageOptions? storage = null)
    {
        var address = CheckpointAddress.Parse(location);
        var factory = new CheckpointStoreFactory(storage ?? new StorageOptions().WithEnvironment());
        return new CheckpointSource(factory.Open(address.Location), address.Step);
    }

    public StorageLocation Location => Catalog.Store.Location;

    /// <summary>The step the location named (a step folder or manifest), if any.</summary>
    public long? NamedStep { get; }

    public CheckpointCatalog Catalog { get; }

    /// <summary>Every checkpoint of the run, complete or not, oldest first; the one <c>latest</c> names is marked.</summary>
    public Task<IReadOnlyList<CheckpointEntry>> ListAsync(CancellationToken cancellation = default) => Catalog.ListAsync(cancellation);

    /// <summary>A checkpoint: <paramref name="step"/>, else the step the location named, else the one <c>latest</c> names.</summary>
    public async Task<PretrainedCheckpoint> OpenAsync(long? step = null, CancellationToken cancellation = default)
    {
        var chosen = await Catalog.ResolveStepAsync(step ?? NamedStep, cancellation);
        var (summary, manifest) = await Catalog.ReadAsync(chosen, cancellation);
        return new PretrainedCheckpoint(Catalog, summary, manifest);
    }
}
