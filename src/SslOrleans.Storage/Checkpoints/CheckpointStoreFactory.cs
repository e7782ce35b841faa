using SslOrleans.Storage.Blobs;

namespace SslOrleans.Storage.Checkpoints;

/// <summary>Opens a folder as a <see cref="LocalFolderCheckpointStore"/> and az://… as a <see cref="BlobCheckpointStore"/>
/// of the account in <paramref name="options"/> (whose client is made once, at the first az:// location).</summary>
public sealed class CheckpointStoreFactory(StorageOptions options) : ICheckpointStoreFactory
{
    private readonly Lazy<BlobAccount> account = new(() => new BlobAccount(options));

    public StorageOptions Options => options;

    public BlobAccount Account => account.Value;

    public ICheckpointStore Open(string location)
    {
        var parsed = StorageLocation.Parse(location, "checkpoint location");
        return parsed.IsBlob ? new BlobCheckpointStore(parsed, account.Value) : new LocalFolderCheckpointStore(parsed.Text);
    }
}
