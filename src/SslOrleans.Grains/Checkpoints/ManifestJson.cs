using System.Text.Json;
using System.Text.Json.Serialization;
using SslOrleans.Abstractions.Checkpoints;

namespace SslOrleans.Grains.Checkpoints;

/// <summary>The manifest's JSON form (snake_case keys, readable by any language).</summary>
public static class ManifestJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static byte[] Serialize(CheckpointManifest manifest) => JsonSerializer.SerializeToUtf8Bytes(manifest, Options);

    public static CheckpointManifest Deserialize(byte[] json, string source) =>
        JsonSerializer.Deserialize<CheckpointManifest>(json, Options)
        ?? throw new InvalidDataException($"{source}: the manifest is empty");
}
