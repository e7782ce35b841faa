using SslOrleans.Abstractions.Runs;
using SslOrleans.Storage;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// What a silo lets a run it coordinates ask for: the model's size, the batch, the micro-batch (configuration section
/// SslTraining: MaxParameters, MaxBatch, MaxMicroBatch) and where it may read and write (Storage:AllowedRoots). A
/// spec over a limit is refused when it is submitted, before anything is read, built or written, with the spec key,
/// the silo's key and both values; one huge run cannot take the silo, and every other run on it, down with it.
/// </summary>
public sealed record RunLimits
{
    public const long DefaultMaxParameters = 1_000_000_000;
    public const int DefaultMaxBatch = 65_536;
    public const int DefaultMaxMicroBatch = 4_096;

    public long MaxParameters { get; init; } = DefaultMaxParameters;
    public int MaxBatch { get; init; } = DefaultMaxBatch;
    public int MaxMicroBatch { get; init; } = DefaultMaxMicroBatch;
    public StorageRoots Roots { get; init; } = StorageRoots.Anywhere;

    /// <summary>The checks that read nothing: batch sizes and locations. Throws <see cref="ArgumentException"/>s that
    /// name the spec key first, as the run spec's own validation does.</summary>
    public void CheckSpec(RunSpec spec)
    {
        var errors = new List<string>();
        if (spec.Batch > MaxBatch)
            errors.Add($"batch: {spec.Batch} is over this silo's limit SslTraining:MaxBatch = {MaxBatch}; lower batch, or raise the limit in the silos' configuration");
        if (spec.MicroBatch > MaxMicroBatch)
            errors.Add($"micro_batch: {spec.MicroBatch} is over this silo's limit SslTraining:MaxMicroBatch = {MaxMicroBatch}; lower micro_batch, or raise the limit in the silos' configuration");
        foreach (var (key, text) in new[] { ("out", spec.Out), ("data", spec.Data), ("tokenizer", spec.Tokenizer) })
        {
            if (text is null) continue;
            StorageLocation location;
            try { location = StorageLocation.Parse(text, key); }
            catch (ArgumentException e) { errors.Add(e.Message); continue; }
            if (Roots.Problem(location, key) is { } problem) errors.Add(problem);
        }
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
    }

    /// <summary>Refuses a model over <see cref="MaxParameters"/>, counted without building it (<see cref="ParameterEstimate"/>).</summary>
    public void CheckModel(RunSpec spec)
    {
        long parameters = ParameterEstimate.Of(spec);
        if (parameters > MaxParameters)
            throw new ArgumentException($"width: {spec.Width} gives a {spec.Method} model of {parameters:N0} parameters ({spec.Backbone ?? "default backbone"}), " +
                $"over this silo's limit SslTraining:MaxParameters = {MaxParameters:N0}; lower width (or hidden_dim, projection_dim, decoder_dim), or raise the limit");
    }
}
