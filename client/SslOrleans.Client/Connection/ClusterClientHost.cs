using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace SslOrleans.Client;

/// <summary>A cluster a client submits runs to: an embedded one it started, or an existing one it joined.</summary>
public interface ITrainingCluster : IAsyncDisposable
{
    IClusterClient Client { get; }
}

/// <summary>
/// An Orleans client connected to an existing cluster through its membership store (Redis or an Azure table) or its
/// localhost gateways, with the training messaging limits (<see cref="TrainingClientOptions"/>; section "SslTraining"
/// of the environment applies as on the silos, so the message limit matches theirs by default).
/// </summary>
public sealed class ClusterClientHost : ITrainingCluster
{
    private readonly IHost host;
    private readonly IDisposable? tls;

    private ClusterClientHost(IHost host, ClusterConnection connection, IDisposable? tls)
    {
        this.host = host;
        this.tls = tls;
        Connection = connection;
    }

    public IClusterClient Client => host.Services.GetRequiredService<IClusterClient>();

    /// <summary>The connection with its cluster and service ids resolved.</summary>
    public ClusterConnection Connection { get; }

    /// <summary>How long joining may take once the store named an active cluster.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    public static Task<ClusterClientHost> ConnectAsync(string connection, Action<TrainingClientOptions>? configure = null, CancellationToken cancellation = default) =>
        ConnectAsync(ClusterConnection.Parse(connection), configure, cancellation);

    public static async Task<ClusterClientHost> ConnectAsync(ClusterConnection connection, Action<TrainingClientOptions>? configure = null, CancellationToken cancellation = default)
    {
        var resolved = await connection.ResolveAsync(cancellation: cancellation);
        var builder = Host.CreateApplicationBuilder();
        // Logs go to stderr: stdout is the program's (the CLI's last stdout line is its JSON result).
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        TrainingClientOptions options;
        try { options = TrainingClientOptions.From(builder.Configuration); }
        catch (ArgumentException e) { throw new ClusterConnectionException(e.Message, e); }
        configure?.Invoke(options);
        // Loaded before anything connects: a missing or untrusted file is reported as such, not as a refused handshake.
        var tls = resolved.Tls?.Load();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = resolved.ClusterId!;
                o.ServiceId = resolved.ServiceId!;
            });
            switch (resolved.Store)
            {
                case ClusterStore.Redis:
                    client.UseRedisClustering(o => o.ConfigurationOptions = resolved.Redis!.Options.Clone());
                    break;
                case ClusterStore.AzureTable:
                    client.UseAzureStorageClustering((Orleans.Clustering.AzureStorage.AzureStorageGatewayOptions o) => o.TableServiceClient = resolved.Azure!.Client());
                    break;
                default:
                    client.UseLocalhostClustering(resolved.GatewayPorts.ToArray(), resolved.ServiceId!, resolved.ClusterId!);
                    break;
            }
            client.AddTrainingClient(options);
            if (tls is not null) client.UseClusterTls(tls);
        });
        // The caller owns Ctrl+C (the CLI stops the run with a checkpoint): the host must not close the client under it.
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellation).WaitAsync(ConnectTimeout, cancellation);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellation.IsCancellationRequested)
        {
            host.Dispose();
            var hint = tls is null
                ? $" (the cluster may require TLS: then give the client's files in the connection, ?{ClusterTlsFiles.CertificateKey}=…&{ClusterTlsFiles.KeyKey}=…&{ClusterTlsFiles.AuthorityKey}=…)"
                : $" (with TLS: {tls.Describe()}; the silos refuse a certificate that does not chain to their authority)";
            tls?.Dispose();
            throw new ClusterConnectionException($"cannot join cluster {resolved.ClusterId} (service {resolved.ServiceId}) through {resolved.Display}{hint}: {e.Message.Split('\n')[0]}", e);
        }
        return new ClusterClientHost(host, resolved, tls);
    }

    public async ValueTask DisposeAsync()
    {
        try { await host.StopAsync(TimeSpan.FromSeconds(10)); }
        finally
        {
            host.Dispose();
            tls?.Dispose();
        }
    }
}

/// <summary>A host lifetime that ignores console signals: whoever started the host stops it.</summary>
public sealed class CallerOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
