using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;

namespace SslOrleans.Storage.Blobs;

/// <summary>The blob service of <see cref="StorageOptions"/>, with the retry policy every az:// location uses.</summary>
public sealed class BlobAccount
{
    private readonly Lazy<BlobServiceClient> service;
    private readonly HashSet<string> ensured = [];

    public BlobAccount(StorageOptions options)
    {
        var errors = options.Errors();
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
        Options = options;
        service = new Lazy<BlobServiceClient>(Create);
    }

    public StorageOptions Options { get; }

    public BlobServiceClient Service => service.Value;

    /// <summary>The container of <paramref name="location"/>, created the first time this process uses it.</summary>
    public async Task<BlobContainerClient> ContainerAsync(StorageLocation location, CancellationToken cancellation = default)
    {
        var container = Service.GetBlobContainerClient(location.Container ?? throw new ArgumentException($"{location} is not an az:// location"));
        bool known;
        lock (ensured) known = ensured.Contains(container.Name);
        if (!known)
        {
            try
            {
                await container.CreateIfNotExistsAsync(cancellationToken: cancellation);
            }
            catch (Azure.RequestFailedException e) when (e.Status == 403)
            {
                // An identity allowed to read and write blobs but not to create containers: the container must exist
                // already, and the first real request says so if it does not.
            }
            lock (ensured) ensured.Add(container.Name);
        }
        return container;
    }

    private BlobServiceClient Create()
    {
        var clientOptions = new BlobClientOptions();
        // Transient failures (timeouts, 5xx, 408, 429, refused connections) are retried with exponential back-off;
        // a try may take as long as one block needs at the slowest healthy throughput.
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = Options.MaxRetries;
        clientOptions.Retry.Delay = Options.RetryDelay;
        clientOptions.Retry.MaxDelay = Options.MaxRetryDelay;
        clientOptions.Retry.NetworkTimeout = Options.TryTimeout;
        if (Options.ConnectionString is { Length: > 0 } connection)
        {
            try { return new BlobServiceClient(connection, clientOptions); }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new ArgumentException($"{StorageOptions.EnvironmentVariable} / {StorageOptions.Section}:ConnectionString: not a storage connection string " +
                                            $"({StorageOptions.Redact(connection)}): {e.Message}", e);
            }
        }
        if (Options.AccountUrl is { Length: > 0 } url) return new BlobServiceClient(new Uri(url), new DefaultAzureCredential(), clientOptions);
        throw new InvalidOperationException($"an az:// location needs a storage account: set {StorageOptions.EnvironmentVariable} to a connection string " +
                                            $"(UseDevelopmentStorage=true for Azurite), or {StorageOptions.Section}:ConnectionString or {StorageOptions.Section}:AccountUrl in the silo's configuration");
    }
}
