using System.Text.Json;

namespace SslOrleans.Core.Data.Images;

/// <summary>
/// What <see cref="DatasetCheck.Run"/> found, small enough to cache as a JSON file (snake_case names) beside the
/// data. <see cref="Mean"/> and <see cref="Std"/> are per channel, over the good samples' pixels scaled to [0,1].
/// </summary>
public sealed record DatasetReport(
    string Name,
    int Count,
    int Channels,
    int Size,
    int Classes,
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<int> ClassCounts,
    IReadOnlyList<DatasetBadSample> BadSamples,
    IReadOnlyList<double> Mean,
    IReadOnlyList<double> Std)
{
    /// <summary>Samples that decoded.</summary>
    public int GoodCount => Count - BadSamples.Count;

    public string ToJson() => JsonSerializer.Serialize(this, SnakeCaseJson.Options);

    public static DatasetReport FromJson(string json) =>
        JsonSerializer.Deserialize<DatasetReport>(json, SnakeCaseJson.Options)
        ?? throw new InvalidDataException("a dataset report cannot be null");

    public void Save(string path) => File.WriteAllText(path, ToJson());

    /// <summary>Reads a cached report; a damaged file throws an error naming it.</summary>
    public static DatasetReport Load(string path)
    {
        try
        {
            return FromJson(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a dataset report ({e.Message})", e);
        }
    }
}
