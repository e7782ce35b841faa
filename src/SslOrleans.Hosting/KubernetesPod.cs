using System.Net;
using Microsoft.Extensions.Configuration;

namespace SslOrleans.Hosting;

/// <summary>
/// <c>Silo:Kubernetes=true</c>: the pod this silo runs in, from the variables Orleans' Kubernetes hosting reads (the
/// downward API sets them; deploy/k8s/silo.yaml). Orleans reads them from the process environment itself and falls back
/// quietly (the machine name for the pod, a DNS lookup for the IP), so a missing one is refused here, at start, instead
/// of a silo that joins under the wrong name or address. Clustering stays Redis or AzureTable: Kubernetes hosting only
/// names the silo, sets its address and ids, and declares the silo of a deleted pod dead.
/// </summary>
public sealed record KubernetesPod(string Name, string Namespace, IPAddress IP, string ClusterId, string ServiceId)
{
    public const string PodName = "POD_NAME";
    public const string PodNamespace = "POD_NAMESPACE";
    public const string PodIP = "POD_IP";
    public const string ClusterIdVariable = "ORLEANS_CLUSTER_ID";
    public const string ServiceIdVariable = "ORLEANS_SERVICE_ID";

    /// <summary>Every variable Orleans' Kubernetes hosting reads, in the order they are checked.</summary>
    public static readonly string[] Variables = [PodName, PodNamespace, PodIP, ClusterIdVariable, ServiceIdVariable];

    /// <summary>The pod when <c>Silo:Kubernetes</c> is true, null when it is false or not set. The variables are read from
    /// <paramref name="configuration"/>, which on the silo host holds the whole environment (unprefixed).</summary>
    internal static KubernetesPod? From(SectionReader s, IConfiguration configuration, string key, ClusteringKind clustering)
    {
        if (s.Text(key) is not { } text) return null;
        if (!bool.TryParse(text, out var on)) throw s.Error(key, "must be true or false");
        if (!on) return null;
        if (clustering == ClusteringKind.Localhost)
            throw s.Error(key, "needs Silo:Clustering Redis or AzureTable (Kubernetes hosting names the silos; the membership stays in a table)");
        foreach (var variable in Variables)
        {
            if (configuration[variable] is not { Length: > 0 })
                throw new SslConfigurationException(s.Path(key),
                    $"{s.Path(key)} 'true': the environment variable {variable} is missing; a pod sets it from the downward API " +
                    $"(POD_NAME, POD_NAMESPACE, POD_IP from metadata.name, metadata.namespace, status.podIP; ORLEANS_CLUSTER_ID and " +
                    $"ORLEANS_SERVICE_ID from the labels orleans/clusterId and orleans/serviceId)");
        }
        if (!IPAddress.TryParse(configuration[PodIP], out var ip))
            throw new SslConfigurationException(s.Path(key), $"{s.Path(key)} 'true': {PodIP} '{configuration[PodIP]}' is not an IP address");
        return new KubernetesPod(configuration[PodName]!, configuration[PodNamespace]!, ip, configuration[ClusterIdVariable]!, configuration[ServiceIdVariable]!);
    }

    /// <summary>The pod's id wins (Orleans applies the variable after our options), so a different Silo:ClusterId or
    /// Silo:ServiceId would be silently ignored: it is an error instead.</summary>
    internal string Id(SectionReader s, string key, string variable, string pod)
    {
        if (s.Text(key) is { } given && given != pod)
            throw s.Error(key, $"differs from {variable} '{pod}' of the pod; under Silo:Kubernetes leave it unset or equal");
        return pod;
    }

    internal void Apply(ISiloBuilder silo) => silo.UseKubernetesHosting();
}
