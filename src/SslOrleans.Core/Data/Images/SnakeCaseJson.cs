using System.Text.Json;

namespace SslOrleans.Core.Data.Images;

/// <summary>The JSON settings of the files this folder writes (index.json, cached dataset reports): snake_case, indented.</summary>
internal static class SnakeCaseJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
    };
}
