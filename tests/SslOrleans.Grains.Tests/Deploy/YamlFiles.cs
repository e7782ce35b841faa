using YamlDotNet.RepresentationModel;

namespace SslOrleans.Grains.Tests.Deploy;

/// <summary>YAML files (multi-document) as plain trees: mappings are dictionaries, sequences lists, scalars strings.
/// Compose's merge key (<c>&lt;&lt;: *anchor</c>) is applied, as compose does.</summary>
internal static class YamlFiles
{
    public static List<Dictionary<string, object?>> Documents(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path)) stream.Load(reader);
        var documents = new List<Dictionary<string, object?>>();
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlScalarNode { Value: null or "" }) continue; // an empty document ("---" at the end)
            documents.Add(Convert(document.RootNode) as Dictionary<string, object?>
                ?? throw new InvalidDataException($"{path}: a document that is not a mapping"));
        }
        return documents;
    }

    private static object? Convert(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value,
        YamlSequenceNode q => q.Children.Select(Convert).ToList(),
        YamlMappingNode m => Mapping(m),
        _ => throw new InvalidDataException($"unexpected YAML node {node.GetType().Name} at {node.Start}"),
    };

    private static Dictionary<string, object?> Mapping(YamlMappingNode m)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in m.Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            if (name == "<<" && Convert(value) is Dictionary<string, object?> merged)
            {
                foreach (var (k, v) in merged) result.TryAdd(k, v);
                continue;
            }
            if (!result.TryAdd(name, Convert(value)) && name != "<<")
                throw new InvalidDataException($"duplicate key '{name}' at {key.Start}");
        }
        return result;
    }

    /// <summary>The value at a path of mapping keys, or null.</summary>
    public static object? At(this object? node, params string[] keys)
    {
        foreach (var key in keys)
            node = node is Dictionary<string, object?> d && d.TryGetValue(key, out var v) ? v : null;
        return node;
    }

    public static string? Text(this object? node, params string[] keys) => node.At(keys) as string;

    public static IEnumerable<object?> Items(this object? node, params string[] keys) => node.At(keys) as List<object?> ?? [];
}
