using System.Globalization;
using System.Reflection;
using System.Text;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Cli.Specs;

/// <summary>
/// Sets <see cref="RunSpec"/> properties by their snake_case key ("micro_batch"), the same for YAML keys and
/// flags (--micro-batch). An unknown key or a value of the wrong type is an error that names the key.
/// </summary>
public static class SpecBinder
{
    /// <summary>Every key with its property, in the order RunSpec declares them (the order help lists the flags in).</summary>
    public static readonly IReadOnlyList<(string Key, PropertyInfo Property)> Keys = typeof(RunSpec)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanWrite)
        .OrderBy(p => p.MetadataToken)
        .Select(p => (SnakeCase(p.Name), p))
        .ToList();

    private static readonly Dictionary<string, PropertyInfo> Properties = Keys.ToDictionary(k => k.Key, k => k.Property, StringComparer.Ordinal);

    public static bool IsBoolean(PropertyInfo p) => p.PropertyType == typeof(bool) || p.PropertyType == typeof(bool?);

    /// <summary>Checks that <paramref name="value"/> suits the key, as <see cref="Set"/> would take it; the error names <paramref name="source"/>.</summary>
    public static void Check(string key, string? value, string source) =>
        Parse(Properties.TryGetValue(key, out var p) ? p.PropertyType : throw new SpecException($"{source}: unknown key '{key}'"), value, key, source);

    public static RunSpec Set(RunSpec spec, string key, string? value, string source)
    {
        if (!Properties.TryGetValue(key, out var property))
            throw new SpecException($"{source}: unknown key '{key}'; known keys: {string.Join(", ", Properties.Keys.Order())}");
        object? parsed = Parse(property.PropertyType, value, key, source);
        // Records are immutable: copy, then set the one property on the copy.
        var copy = spec with { };
        property.SetValue(copy, parsed);
        return copy;
    }

    private static object? Parse(Type type, string? value, string key, string source)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        // A bare flag (--resume, --nesterov) is true; an explicit null in YAML unsets a nullable key.
        if (value is null && (underlying ?? type) == typeof(bool)) return true;
        if (value is null || value is "" or "null" or "~")
        {
            if (underlying is not null || type == typeof(string)) return null;
            if (type == typeof(bool)) return true;
            throw new SpecException($"{source}: key '{key}' needs a value");
        }
        var t = underlying ?? type;
        try
        {
            if (t == typeof(string)) return value;
            if (t == typeof(int)) return int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);
            if (t == typeof(long)) return long.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);
            if (t == typeof(double)) return double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (t == typeof(bool)) return bool.Parse(value);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new SpecException($"{source}: key '{key}' wants {Describe(t)}, got '{value}'");
        }
        throw new SpecException($"{source}: key '{key}' has an unsupported type {t.Name}");
    }

    private static string Describe(Type t) =>
        t == typeof(int) || t == typeof(long) ? "an integer" : t == typeof(double) ? "a number" : t == typeof(bool) ? "true or false" : t.Name;

    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}

public sealed class SpecException(string message) : Exception(message);
