using SslOrleans.Core.Data;

namespace SslOrleans.Grains.Data;

/// <summary>Datasets by name; one in-memory copy per process, shared by its workers.</summary>
public static class DatasetCatalog
{
    public static ImageDataset Train(string dataset, string? dataDir) => dataset switch
    {
        "fashion-mnist" => FashionMnist.LoadTrainCached(dataDir),
        _ => throw new ArgumentException($"dataset '{dataset}' is unknown; known: fashion-mnist"),
    };

    public static ImageDataset Test(string dataset, string? dataDir) => dataset switch
    {
        "fashion-mnist" => FashionMnist.LoadTestCached(dataDir),
        _ => throw new ArgumentException($"dataset '{dataset}' is unknown; known: fashion-mnist"),
    };
}
