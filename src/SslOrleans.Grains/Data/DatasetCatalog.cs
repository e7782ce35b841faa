using SslOrleans.Core.Data;

namespace SslOrleans.Grains.Data;

/// <summary>Datasets by name; one in-memory copy per process, shared by its workers.</summary>
public static class DatasetCatalog
{
    private static readonly Dictionary<string, (Func<string?, ImageDataset> Train, Func<string?, ImageDataset> Test)> Loaders = new()
    {
        ["fashion-mnist"] = (FashionMnist.LoadTrainCached, FashionMnist.LoadTestCached),
    };

    public static ImageDataset Train(string dataset, string? dataDir) => Find(dataset).Train(dataDir);

    public static ImageDataset Test(string dataset, string? dataDir) => Find(dataset).Test(dataDir);

    private static (Func<string?, ImageDataset> Train, Func<string?, ImageDataset> Test) Find(string dataset) =>
        Loaders.TryGetValue(dataset, out var loaders) ? loaders
            : throw new ArgumentException($"dataset '{dataset}' is unknown; known: {string.Join(", ", Loaders.Keys)}");
}
