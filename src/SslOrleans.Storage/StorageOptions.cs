namespace SslOrleans.Storage;

/// <summary>
/// The Azure Blob storage account behind az:// locations and how to talk to it. The account comes from the
/// environment variable <see cref="EnvironmentVariable"/> (a connection string; <c>UseDevelopmentStorage=true</c> is
/// Azurite on its default ports), else from the silo's configuration section <see cref="Section"/>:
/// <c>ConnectionString</c>, or <c>AccountUrl</c> signed in with DefaultAzureCredential (managed identity, workload
/// identity, Azure CLI, …).
/// </summary>
public sealed record StorageOptions
{
    public const string EnvironmentVariable = "SSLO_STORAGE";
    public const string Section = "Storage";

    public string? ConnectionString { get; init; }

    public string? AccountUrl { get; init; }

    /// <summary>Files up to this size go up in one request; larger ones as staged blocks.</summary>
    public long SingleShotBytes { get; init; } = 8 << 20;

    /// <summary>The size of a staged block.</summary>
    public long BlockBytes { get; init; } = 8 << 20;

    /// <summary>Blocks of one file in flight at once.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Retries of a failed request (exponential back-off from <see cref="RetryDelay"/> to <see cref="MaxRetryDelay"/>).</summary>
    public int MaxRetries { get; init; } = 6;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(16);

    /// <summary>The slowest throughput a healthy try may have: a try's timeout is 30 s plus one block at this rate.</summary>
    public long SlowestBytesPerSecond { get; init; } = 1 << 20;

    /// <summary>Where blobs read by datasets and tokenizers are cached, by sha256; null = $XDG_CACHE_HOME/sslo or ~/.cache/sslo.</summary>
    public string? CacheFolder { get; init; }

    /// <summary>Where runs may read and write (<see cref="StorageRoots"/>, <c>Storage:AllowedRoots</c>); none: anywhere.</summary>
    public StorageRoots AllowedRoots { get; init; } = StorageRoots.Anywhere;

    public bool HasAccount => !string.IsNullOrWhiteSpace(ConnectionString) || !string.IsNullOrWhiteSpace(AccountUrl);

    /// <summary>The timeout of one try: long enough for one block at <see cref="SlowestBytesPerSecond"/>.</summary>
    public TimeSpan TryTimeout => TimeSpan.FromSeconds(30 + (double)Math.Max(SingleShotBytes, BlockBytes) / SlowestBytesPerSecond);

    public string ResolvedCacheFolder => CacheFolder ?? Path.Combine(
        Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "sslo");

    /// <summary>Every problem with these options, naming the key.</summary>
    public IReadOnlyList<string> Errors()
    {
        var errors = new List<string>();
        if (SingleShotBytes < 1) errors.Add($"{Section}:SingleShotBytes is {SingleShotBytes}; it must be at least 1");
        if (BlockBytes < 1 || BlockBytes > 4000L << 20) errors.Add($"{Section}:BlockBytes is {BlockBytes}; it must be between 1 and 4000 MiB (Azure's largest block)");
        if (Concurrency < 1) errors.Add($"{Section}:Concurrency is {Concurrency}; it must be at least 1");
        if (MaxRetries < 0) errors.Add($"{Section}:MaxRetries is {MaxRetries}; it must be at least 0");
        if (SlowestBytesPerSecond < 1) errors.Add($"{Section}:SlowestBytesPerSecond is {SlowestBytesPerSecond}; it must be at least 1");
        if (AccountUrl is { Length: > 0 } url && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")))
            errors.Add($"{Section}:AccountUrl '{url}' is not an http(s) URL such as https://ACCOUNT.blob.core.windows.net");
        return errors;
    }

    /// <summary>These options with the account of <see cref="EnvironmentVariable"/> when it is set (it wins over configuration).</summary>
    public StorageOptions WithEnvironment() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } connection
            ? this with { ConnectionString = connection, AccountUrl = null }
            : this;

    /// <summary>Says which account is used, without its key.</summary>
    public string Describe() =>
        ConnectionString is { Length: > 0 } c ? $"connection string {Redact(c)}"
        : AccountUrl is { Length: > 0 } u ? $"{u} with DefaultAzureCredential"
        : "no account";

    public static string Redact(string connectionString) =>
        System.Text.RegularExpressions.Regex.Replace(connectionString, "(AccountKey|SharedAccessSignature)=[^;]*", "$1=***");
}
