using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Abstractions.Checkpoints;

/// <summary>
/// manifest.json of a checkpoint, written last: a checkpoint exists only once its manifest does.
/// <see cref="DataCursor"/> is the global sample position (step × batch) where the next step starts.
/// </summary>
public sealed record CheckpointManifest(
    int FormatVersion,
    string RunId,
    RunSpec Spec,
    long Step,
    double Epoch,
    long DataCursor,
    long PlannedSteps,
    ShardRange[] Shards,
    IReadOnlyDictionary<string, double> Metrics,
    FileDigest[] Files,
    DateTimeOffset CreatedUtc)
{
    public const int CurrentFormat = 1;
}
