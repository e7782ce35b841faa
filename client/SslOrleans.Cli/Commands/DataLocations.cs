using SslOrleans.Storage;
using SslOrleans.Storage.Blobs;
using SslOrleans.Storage.Data;

namespace SslOrleans.Cli.Commands;

/// <summary>A dataset location on the command line as a local folder: az:// ones are read into the blob cache.</summary>
internal static class DataLocations
{
    public static async Task<string> LocalFolderAsync(string location, string what)
    {
        var parsed = StorageLocation.Parse(location, what);
        if (!parsed.IsBlob)
        {
            if (!Directory.Exists(parsed.Text)) throw new Specs.SpecException($"{what} {location}: no such folder");
            return Path.GetFullPath(parsed.Text);
        }
        return await new BlobFolderCache(new BlobAccount(new StorageOptions().WithEnvironment())).LocalFolderAsync(location, what);
    }
}
