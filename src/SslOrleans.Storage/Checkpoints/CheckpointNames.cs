using System.Globalization;
using System.Text.RegularExpressions;

namespace SslOrleans.Storage.Checkpoints;

public static partial class CheckpointNames
{
    public const string Manifest = "manifest.json";
    public const string Latest = "latest";
    public const string Backbone = "backbone.safetensors";
    /// <summary>The online linear probe ("weight" [classes, features], "bias" [classes]) trained beside pretraining.</summary>
    public const string OnlineProbe = "online_probe.safetensors";

    public static string Folder(long step) => $"step-{step:D8}";
    public static string Shard(int index) => $"shard-{index}.bin";

    /// <summary>The step of a folder named <see cref="Folder"/>, or null for any other name.</summary>
    public static long? StepOf(string folder) =>
        StepFolder().Match(folder.Trim().TrimEnd('/')) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    /// <summary>The step a <c>latest</c> file's text names; an error naming <paramref name="source"/> when it names none.</summary>
    public static long ParseLatest(string text, string source) =>
        StepOf(text) ?? throw new InvalidDataException($"{source}: '{text.Trim()}' is not a checkpoint folder name (step-NNNNNNNN)");

    /// <summary>A file name a checkpoint may hold: one path segment, no '..'.</summary>
    public static void CheckFileName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/') || name.Contains('\\') || name.Contains("..") || name.StartsWith('.'))
            throw new ArgumentException($"checkpoint file name '{name}' must be one plain path segment");
    }

    [GeneratedRegex(@"^step-(\d{1,19})$")]
    private static partial Regex StepFolder();
}
