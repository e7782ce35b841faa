using System.Text.Json;

namespace SslOrleans.Core.Data.Images;

/// <summary>
/// DEST/index.json of packed tar shards: the class names (empty when unlabelled) and, per split ("train", "test"),
/// the shards and sample counts. <see cref="TarShardReader"/> takes its classes from it and checks its counts.
/// </summary>
public sealed record TarShardIndex(IReadOnlyList<string> ClassNames, IReadOnlyDictionary<string, TarSplitIndex> Splits)
{
    public const string FileName = "index.json";

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, SnakeCaseJson.Options));

    /// <summary>Reads <paramref name="path"/>; a file that is no such index throws an error naming it.</summary>
    public static TarShardIndex Load(string path)
    {
        try
        {
            var index = JsonSerializer.Deserialize<TarShardIndex>(File.ReadAllText(path), SnakeCaseJson.Options);
            if (index?.ClassNames is null || index.Splits is null)
            {
                throw new InvalidDataException($"{path}: not a shard index (class_names and splits are required)");
            }

            return index;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid shard index ({e.Message})", e);
        }
    }
}
