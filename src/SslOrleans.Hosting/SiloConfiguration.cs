using SslOrleans.Client;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using SslOrleans.Grains.Placement;

namespace SslOrleans.Hosting;

/// <summary>How the silos of a cluster find each other (Orleans' membership table).</summary>
public enum ClusteringKind
{
    /// <summary>Development: loopback only, membership held by the primary silo (Silo:PrimarySiloPort).</summary>
    Localhost,
    /// <summary>Membership in a Redis hash "{ServiceId}/members/{ClusterId}".</summary>
    Redis,
    /// <summary>Membership in the Azure Storage table OrleansSiloInstances (Azurite works).</summary>
    AzureTable,
}

/// <summary>
/// The "Silo" configuration section (appsettings.json, environment Silo__Clustering=Redis, flags --Silo:SiloPort=…).
/// <see cref="From"/> checks every key and throws a <see cref="SslConfigurationException"/> that names the key.
/// </summary>
public sealed class SiloConfiguration
{
    public const string Section = "Silo";

    private static readonly string[] Keys =
    [
        nameof(ClusterId), nameof(ServiceId), nameof(AdvertisedIP), nameof(SiloPort), nameof(GatewayPort),
        nameof(Clustering), nameof(PrimarySiloPort), nameof(ConnectionString), nameof(HttpPort), nameof(Kubernetes),
    ];

    /// <summary>The HTTP port of a standalone silo unless configured: the port Prometheus' exporters conventionally use.</summary>
    public const int DefaultHttpPort = 9464;

    public string ClusterId { get; private init; } = "sslo-dev";
    public string ServiceId { get; private init; } = "sslo";
    /// <summary>The address other silos and clients reach this silo at (Redis, AzureTable); Localhost is loopback only.</summary>
    public IPAddress AdvertisedIP { get; private init; } = IPAddress.Loopback;
    public int SiloPort { get; private init; } = 11111;
    public int GatewayPort { get; private init; } = 30000;
    /// <summary>The silo's HTTP endpoint (run page, /api/runs, /metrics, /healthz; see Web/SslWebExtensions.cs);
    /// 0 serves none. It listens where the silo does: loopback, or every address when advertising a routable one.</summary>
    public int HttpPort { get; private init; } = DefaultHttpPort;
    public ClusteringKind Clustering { get; private init; } = ClusteringKind.Localhost;
    /// <summary>Localhost clustering: the silo port of the cluster's first silo (default: this silo's own).</summary>
    public int? PrimarySiloPort { get; private init; }
    /// <summary>Redis: "127.0.0.1:6379" or "redis://127.0.0.1:6379"; AzureTable: an Azure Storage connection string.</summary>
    public string? ConnectionString { get; private init; }
    /// <summary>Silo:Kubernetes=true: the pod (name, IP, cluster ids from the downward API) for Orleans' Kubernetes hosting; null otherwise.</summary>
    public KubernetesPod? Kubernetes { get; private init; }

    internal RedisAddress? Redis { get; private init; }
    internal AzureTableAddress? AzureTable { get; private init; }

    /// <summary>Where membership lives, for the start line: "redis://127.0.0.1:6379", the redacted Azure string, or loopback.</summary>
    public string MembershipDisplay => Clustering switch
    {
        ClusteringKind.Redis => Redis!.Display,
        ClusteringKind.AzureTable => AzureTable!.Display,
        _ => $"primary silo 127.0.0.1:{PrimarySiloPort ?? SiloPort}",
    };

    public static SiloConfiguration From(IConfiguration configuration)
    {
        // A Redis URL may carry a password, an Azure string an account key: errors name the key, never show the value.
        var s = new SectionReader(configuration, Section, Keys, secrets: [nameof(ConnectionString)]);
        var defaults = new SiloConfiguration();

        var clusterId = s.Text(nameof(ClusterId)) ?? defaults.ClusterId;
        var serviceId = s.Text(nameof(ServiceId)) ?? defaults.ServiceId;
        if (clusterId.Contains('/')) throw s.Error(nameof(ClusterId), "must not contain '/'");
        if (serviceId.Contains('/')) throw s.Error(nameof(ServiceId), "must not contain '/' (Redis membership keys are {ServiceId}/members/{ClusterId})");

        var clustering = ClusteringKind.Localhost;
        if (s.Text(nameof(Clustering)) is { } kind)
        {
            clustering = Enum.GetValues<ClusteringKind>().FirstOrDefault(k => k.ToString().Equals(kind, StringComparison.OrdinalIgnoreCase), (ClusteringKind)(-1));
            if (!Enum.IsDefined(clustering)) throw s.Error(nameof(Clustering), "must be Localhost, Redis or AzureTable");
        }

        var pod = KubernetesPod.From(s, configuration, nameof(Kubernetes), clustering);
        if (pod is not null)
        {
            clusterId = pod.Id(s, nameof(ClusterId), KubernetesPod.ClusterIdVariable, pod.ClusterId);
            serviceId = pod.Id(s, nameof(ServiceId), KubernetesPod.ServiceIdVariable, pod.ServiceId);
        }

        var advertised = pod?.IP ?? defaults.AdvertisedIP;
        if (s.Text(nameof(AdvertisedIP)) is { } ipText)
        {
            // "auto" (container images): the pod's IP under Kubernetes, else this machine's first routable address.
            if (ipText.Equals(MachineAddress.Auto, StringComparison.OrdinalIgnoreCase))
                advertised = pod?.IP ?? MachineAddress.Find() ?? throw s.Error(nameof(AdvertisedIP), "found no network interface with a routable IPv4 address");
            else if (!IPAddress.TryParse(ipText, out advertised!) || advertised.Equals(IPAddress.Any) || advertised.Equals(IPAddress.IPv6Any))
                throw s.Error(nameof(AdvertisedIP), "must be the IP address this silo is reached at, e.g. 127.0.0.1 or 10.0.0.5, or auto");
            if (clustering == ClusteringKind.Localhost && !IPAddress.IsLoopback(advertised))
                throw s.Error(nameof(AdvertisedIP), "Localhost clustering runs on loopback only; use Silo:Clustering Redis or AzureTable across machines");
        }

        int siloPort = s.Port(nameof(SiloPort)) ?? defaults.SiloPort;
        int gatewayPort = s.Port(nameof(GatewayPort)) ?? defaults.GatewayPort;
        if (gatewayPort == siloPort) throw s.Error(nameof(GatewayPort), $"must differ from Silo:SiloPort {siloPort}");
        int httpPort = s.Int(nameof(HttpPort), 0, 65535, "must be a TCP port, a whole number from 1 to 65535, or 0 for no HTTP endpoint") ?? defaults.HttpPort;
        if (httpPort != 0 && (httpPort == siloPort || httpPort == gatewayPort))
            throw s.Error(nameof(HttpPort), $"must differ from Silo:SiloPort {siloPort} and Silo:GatewayPort {gatewayPort}");

        int? primary = s.Port(nameof(PrimarySiloPort));
        if (primary is not null && clustering != ClusteringKind.Localhost)
            throw s.Error(nameof(PrimarySiloPort), $"only Localhost clustering has a primary silo; {clustering} clustering finds the silos through Silo:ConnectionString");

        var connection = s.Text(nameof(ConnectionString));
        RedisAddress? redis = null;
        AzureTableAddress? azure = null;
        switch (clustering)
        {
            case ClusteringKind.Redis:
                if (connection is null)
                    throw new SslConfigurationException(s.Path(nameof(ConnectionString)),
                        $"{s.Path(nameof(ConnectionString))}: Redis clustering needs the Redis server, e.g. 127.0.0.1:6379 or redis://127.0.0.1:6379");
                try { redis = RedisAddress.Parse(connection, allowNativeForm: true); }
                catch (FormatException e) { throw s.Error(nameof(ConnectionString), $"not a Redis address ({e.Message}); e.g. 127.0.0.1:6379 or redis://127.0.0.1:6379"); }
                if (redis.Query.Count > 0) throw s.Error(nameof(ConnectionString), "takes no ?query: set Silo:ClusterId and Silo:ServiceId instead");
                break;
            case ClusteringKind.AzureTable:
                if (connection is null)
                    throw new SslConfigurationException(s.Path(nameof(ConnectionString)),
                        $"{s.Path(nameof(ConnectionString))}: AzureTable clustering needs an Azure Storage connection string (UseDevelopmentStorage=true for Azurite on its default ports)");
                try { azure = AzureTableAddress.Parse(connection); }
                catch (FormatException e) { throw new SslConfigurationException(s.Path(nameof(ConnectionString)), $"{s.Path(nameof(ConnectionString))}: {e.Message}"); }
                if (azure.Extras.Count > 0)
                    throw new SslConfigurationException(s.Path(nameof(ConnectionString)), $"{s.Path(nameof(ConnectionString))}: takes no ClusterId=/ServiceId= parts: set Silo:ClusterId and Silo:ServiceId instead");
                break;
        }

        return new SiloConfiguration
        {
            ClusterId = clusterId, ServiceId = serviceId, AdvertisedIP = advertised, SiloPort = siloPort, GatewayPort = gatewayPort, HttpPort = httpPort,
            Clustering = clustering, PrimarySiloPort = primary, ConnectionString = connection, Redis = redis, AzureTable = azure, Kubernetes = pod,
        };
    }
}

public static class SslSiloExtensions
{
    /// <summary>
    /// A silo from configuration: section "Silo" (cluster ids, endpoints, clustering) and section "SslTraining"
    /// (devices, message limit, timeouts) onto <see cref="SslTrainingSiloExtensions.AddSslTraining"/>. Once the silo is
    /// active it logs one line starting "sslo silo ready:" with the cluster id, clustering, ports, devices, the oneDNN
    /// ISA decision and the blob storage account (keys redacted).
    /// </summary>
    public static ISiloBuilder UseSslSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        var c = SiloConfiguration.From(configuration);
        SslTrainingConfiguration.From(configuration); // the section is checked before anything is built
        var tls = TlsConfiguration.From(configuration);
        if (tls is not null) silo.UseClusterTls(tls);
        switch (c.Clustering)
        {
            case ClusteringKind.Localhost:
                silo.UseLocalhostClustering(c.SiloPort, c.GatewayPort, new IPEndPoint(IPAddress.Loopback, c.PrimarySiloPort ?? c.SiloPort),
                    serviceId: c.ServiceId, clusterId: c.ClusterId);
                break;
            case ClusteringKind.Redis:
                Endpoints(silo, c).UseRedisClustering(o => o.ConfigurationOptions = c.Redis!.Options.Clone());
                break;
            case ClusteringKind.AzureTable:
                Endpoints(silo, c).UseAzureStorageClustering(o => o.TableServiceClient = c.AzureTable!.Client());
                break;
        }
        c.Kubernetes?.Apply(silo);
        // Every key of the section, as checked above, onto the options the silo is built with.
        silo.AddSslTraining(o =>
        {
            SslTrainingConfiguration.Bind(configuration, o);
            SslTrainingConfiguration.BindStorage(configuration, o);
            o.Tls = tls;
        });
        // A run's coordinator state outlives its silo in the store that holds the cluster's membership.
        switch (c.Clustering)
        {
            case ClusteringKind.Redis:
                silo.AddRedisGrainStorage(Grains.Runs.RunRecord.StorageName, o => o.ConfigurationOptions = c.Redis!.Options.Clone());
                break;
            case ClusteringKind.AzureTable:
                silo.AddAzureTableGrainStorage(Grains.Runs.RunRecord.StorageName, o => o.TableServiceClient = c.AzureTable!.Client());
                break;
        }
        silo.Services.AddSingleton(c);
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SiloReadyLog>();
        return silo;
    }

    private static ISiloBuilder Endpoints(ISiloBuilder silo, SiloConfiguration c) => silo
        .Configure<ClusterOptions>(o =>
        {
            o.ClusterId = c.ClusterId;
            o.ServiceId = c.ServiceId;
        })
        // Listen on every address when advertising a routable one (containers, NAT); on loopback only otherwise.
        .ConfigureEndpoints(c.AdvertisedIP, c.SiloPort, c.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(c.AdvertisedIP));
}

/// <summary>Logs the silo's one start line once it is active in the cluster (deploy/local/cluster.sh waits for it), just
/// after the Active stage, so that what starts in that stage (the HTTP endpoint) already listens when the line appears.</summary>
internal sealed class SiloReadyLog(ILogger<SiloReadyLog> log, SiloConfiguration c, LocalDeviceSlots slots, ILocalSiloDetails local,
    Storage.Checkpoints.ICheckpointStoreFactory stores, Web.SslWebOptions? web = null, Abstractions.Security.ClusterTls? tls = null)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public const string Marker = "sslo silo ready:";

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SiloReadyLog), ServiceLifecycleStage.Active + 1, _ =>
        {
            log.LogInformation("{Marker} cluster {ClusterId} (service {ServiceId}), clustering {Clustering} ({Membership}), silo {Silo}, " +
                "silo port {SiloPort}, gateway port {GatewayPort}, http port {HttpPort}, devices {Devices}, pid {Pid}, {OneDnn}, blob storage: {Storage}, tls: {Tls}",
                Marker, c.ClusterId, c.ServiceId, c.Clustering, c.MembershipDisplay, local.SiloAddress, c.SiloPort, c.GatewayPort,
                web is null ? "off" : web.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                DeviceSlots.Format(slots.Slots), Environment.ProcessId, Core.Numerics.OneDnnIsaGuard.Decision,
                stores is Storage.Checkpoints.CheckpointStoreFactory f ? f.Options.Describe() : "not configured",
                tls?.Describe() ?? "off (plain TCP)");
            return Task.CompletedTask;
        });
}
