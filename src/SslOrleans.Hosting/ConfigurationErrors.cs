using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace SslOrleans.Hosting;

/// <summary>A configuration value that cannot be used; the message starts with its key ("Silo:SiloPort '0': …").</summary>
public sealed class SslConfigurationException(string key, string message) : Exception(message)
{
    /// <summary>The configuration key at fault, e.g. "Silo:Clustering".</summary>
    public string Key { get; } = key;
}

/// <summary>Reads one configuration section key by key, so that every error names its key and the value given.</summary>
internal sealed class SectionReader
{
    private readonly IConfigurationSection section;

    public SectionReader(IConfiguration configuration, string name, IReadOnlyCollection<string> known)
    {
        section = configuration.GetSection(name);
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                throw new SslConfigurationException($"{name}:{child.Key}",
                    $"{name}:{child.Key}: unknown key; the {name} section knows {string.Join(", ", known)}");
        }
    }

    public string Path(string key) => $"{section.Path}:{key}";

    /// <summary>The raw text of a key, or null when it is not set (an empty value counts as not set).</summary>
    public string? Text(string key) => section[key] is { Length: > 0 } v ? v.Trim() : null;

    public SslConfigurationException Error(string key, string problem) =>
        new(Path(key), $"{Path(key)} '{section[key]}': {problem}");

    public int? Int(string key, int min, int max, string what)
    {
        if (Text(key) is not { } text) return null;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
            ? v : throw Error(key, what);
    }

    public long? Long(string key, long min, long max, string what)
    {
        if (Text(key) is not { } text) return null;
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max
            ? v : throw Error(key, what);
    }

    public int? Port(string key) => Int(key, 1, 65535, "must be a TCP port, a whole number from 1 to 65535");

    public TimeSpan? Duration(string key, TimeSpan min)
    {
        if (Text(key) is not { } text) return null;
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var v) && v >= min
            ? v : throw Error(key, $"must be a duration (hh:mm:ss) of at least {min}");
    }
}
