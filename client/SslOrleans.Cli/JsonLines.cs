using System.Text.Json;
using System.Text.Json.Serialization;

namespace SslOrleans.Cli;

/// <summary>How the commands write their JSON result lines: snake_case keys, NaN and infinities as names.</summary>
public static class JsonLines
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The same, with enums as snake_case names ("running"): what status-like lines use.</summary>
    public static readonly JsonSerializerOptions WithEnums = new(Options)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
