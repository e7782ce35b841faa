using SslOrleans.Abstractions.Runs;
using SslOrleans.Storage;
using SslOrleans.Storage.Data;

namespace SslOrleans.Grains.Data;

/// <summary>A spec whose dataset and tokenizer are local folders: az:// locations are read into this machine's blob cache,
/// so every silo reads them itself and the cluster needs no shared file system.</summary>
public static class RunSpecStorage
{
    public static async Task<RunSpec> LocalizeAsync(BlobFolderCache cache, RunSpec spec) => spec with
    {
        Data = StorageLocation.IsBlobText(spec.Data) ? await cache.LocalFolderAsync(spec.Data!, "data") : spec.Data,
        Tokenizer = StorageLocation.IsBlobText(spec.Tokenizer) ? await cache.LocalFolderAsync(spec.Tokenizer!, "tokenizer") : spec.Tokenizer,
    };
}
