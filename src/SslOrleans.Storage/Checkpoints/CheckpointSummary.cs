using System.Text.Json;

namespace SslOrleans.Storage.Checkpoints;

/// <summary>
/// What any reader of a manifest.json needs, without the training layer's types: the step, when, the metrics, the
/// files with their sha256, and the run's spec as JSON (backbone, width, stem, …). Unknown keys are ignored, so newer
/// manifests stay readable.
/// </summary>
public sealed record CheckpointSummary(
    long Step,
    string RunId,
    DateTimeOffset CreatedUtc,
    IReadOnlyDictionary<string, double> Metrics,
    IReadOnlyList<StoredFile> Files,
    JsonElement Spec)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record Document(long Step, string? RunId, DateTimeOffset CreatedUtc, Dictionary<string, double>? Metrics, StoredFile[]? Files, JsonElement Spec);

    /// <param name="source">Named in errors: where the bytes came from.</param>
    public static CheckpointSummary Parse(byte[] json, string source)
    {
        Document? d;
        try { d = JsonSerializer.Deserialize<Document>(json, Json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not a checkpoint manifest: {e.Message}", e); }
        if (d is null || d.Files is null) throw new InvalidDataException($"{source}: not a checkpoint manifest (no \"files\")");
        foreach (var f in d.Files)
        {
            if (f.Name is null || f.Sha256 is null) throw new InvalidDataException($"{source}: a file entry lacks \"name\" or \"sha256\"");
            CheckpointNames.CheckFileName(f.Name);
        }
        return new CheckpointSummary(d.Step, d.RunId ?? "", d.CreatedUtc, d.Metrics ?? [], d.Files, d.Spec);
    }

    /// <summary>A string of the spec ("backbone", "stem", "method", …), or null.</summary>
    public string? SpecString(string key) =>
        Spec.ValueKind == JsonValueKind.Object && Spec.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>An integer of the spec ("width", "patch_size", …), or null.</summary>
    public long? SpecNumber(string key) =>
        Spec.ValueKind == JsonValueKind.Object && Spec.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;
}
