namespace SslOrleans.Storage.Checkpoints;

/// <summary>
/// What a user may name as a checkpoint: a run's location (folder or az://CONTAINER/PREFIX; its latest checkpoint),
/// one of its step folders (…/step-00000030), or a step's manifest.json. Resolves to the run's location and the step
/// when one was named.
/// </summary>
public sealed record CheckpointAddress(string Location, long? Step)
{
    public static CheckpointAddress Parse(string text, string what = "checkpoint")
    {
        if (string.IsNullOrWhiteSpace(text)) throw new ArgumentException($"{what}: empty; give a run folder or az://CONTAINER/PREFIX");
        var blob = StorageLocation.IsBlobText(text);
        var trimmed = text.TrimEnd('/');
        if (!blob)
        {
            trimmed = Path.TrimEndingDirectorySeparator(Path.GetFullPath(trimmed));
            if (File.Exists(trimmed) && Path.GetFileName(trimmed) != CheckpointNames.Manifest)
                throw new ArgumentException($"{what}: {text} is a file but not a {CheckpointNames.Manifest}; give a run folder, a step folder or a manifest");
            if (!File.Exists(trimmed) && !Directory.Exists(trimmed))
                throw new FileNotFoundException($"{what}: {text} does not exist", text);
        }
        var parts = trimmed.Split('/');
        if (parts[^1] == CheckpointNames.Manifest) parts = parts[..^1];
        if (parts.Length > 1 && CheckpointNames.StepOf(parts[^1]) is { } step)
            return new CheckpointAddress(StorageLocation.Parse(string.Join('/', parts[..^1]), what).Text, step);
        if (Path.GetFileName(trimmed) == CheckpointNames.Manifest)
            throw new ArgumentException($"{what}: {text}: a manifest must be in a step-NNNNNNNN folder");
        return new CheckpointAddress(StorageLocation.Parse(string.Join('/', parts), what).Text, null);
    }
}
