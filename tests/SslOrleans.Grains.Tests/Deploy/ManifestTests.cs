using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Hosting;
using SslOrleans.Hosting.Web;

namespace SslOrleans.Grains.Tests.Deploy;

/// <summary>
/// deploy/k8s and deploy/compose/compose.yaml: every file parses; every configuration variable (Section__Key) binds
/// through the silo's own readers, so a misspelled key or a bad value fails here and not in a cluster; the probes ask
/// for what the silo serves, on the port it serves it. (DockerfileTests asks a real silo for these probe paths.)
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed partial class ManifestTests
{
    private static readonly string K8s = Path.Combine(ClusterTestSupport.RepoRoot, "deploy", "k8s");
    private static readonly string Compose = Path.Combine(ClusterTestSupport.RepoRoot, "deploy", "compose", "compose.yaml");

    /// <summary>Sections whose keys the silo's readers check (SiloConfiguration, SslTrainingConfiguration with Storage,
    /// TelemetryConfiguration).</summary>
    private static readonly string[] Sections =
        [SiloConfiguration.Section, SslTrainingConfiguration.Section, SslOrleans.Storage.StorageOptions.Section, TelemetryConfiguration.Section];

    /// <summary>Variables that are not configuration keys but are read by name: the pod's (Orleans' Kubernetes hosting)
    /// and the blob account's.</summary>
    private static readonly string[] PlainVariables = [.. KubernetesPod.Variables, SslOrleans.Storage.StorageOptions.EnvironmentVariable];

    public static TheoryData<string> Files()
    {
        var files = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(K8s, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            files.Add(Path.GetRelativePath(ClusterTestSupport.RepoRoot, f));
        files.Add(Path.GetRelativePath(ClusterTestSupport.RepoRoot, Compose));
        return files;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_manifest_parses_and_names_what_it_is(string file)
    {
        var path = Path.Combine(ClusterTestSupport.RepoRoot, file);
        var documents = YamlFiles.Documents(path);
        Assert.NotEmpty(documents);
        if (path == Compose)
        {
            Assert.NotNull(documents.Single().At("services", "silo"));
            return;
        }
        foreach (var doc in documents)
        {
            Assert.False(string.IsNullOrEmpty(doc.Text("apiVersion")), $"{file}: a document without apiVersion");
            var kind = doc.Text("kind");
            Assert.False(string.IsNullOrEmpty(kind), $"{file}: a document without kind");
            if (kind == "Kustomization")
            {
                foreach (var item in doc.Items("resources").Concat(doc.Items("patches").Select(p => p.At("path"))))
                {
                    var target = Path.Combine(Path.GetDirectoryName(path)!, (string)item!);
                    Assert.True(File.Exists(target) || File.Exists(Path.Combine(target, "kustomization.yaml")), $"{file}: {item} does not exist");
                }
                continue;
            }
            Assert.False(string.IsNullOrEmpty(doc.Text("metadata", "name")), $"{file}: {kind} without metadata.name");
            Assert.Null(doc.At("metadata", "namespace")); // namespace-agnostic: kubectl apply -n chooses
        }
    }

    [Fact]
    public void Every_configuration_variable_of_every_container_binds_to_the_silos_options()
    {
        var checkedSets = 0;
        foreach (var (where, env) in K8sContainers().Select(c => (c.Where, c.Env)).Concat(ComposeServices()))
        {
            Bind(env, where);
            checkedSets++;
        }
        Assert.True(checkedSets >= 4, $"only {checkedSets} containers and services found"); // silo, redis, GPU silo, compose silo and cli
    }

    [Theory]
    [InlineData("Silo__Clustring", "Redis", "Silo:Clustring: unknown key")]
    [InlineData("SslTraining__Devices", "gpu", "SslTraining:Devices 'gpu'")]
    [InlineData("SslTrainng__Devices", "cpu", "no configuration section SslTrainng")]
    [InlineData("Telemetry__Otlp__Protocl", "grpc", "Telemetry:Otlp:Protocl: unknown key")]
    [InlineData("Storage__Concurency", "4", "Storage:Concurency: unknown key")]
    [InlineData("Tls__Certifcate", "/etc/sslo/tls/tls.crt", "Tls:Certifcate: unknown key")]
    [InlineData("Tls__StoreLocation", "CurrentUser", "Tls:StoreLocation: belongs to a certificate from a store")]
    [InlineData("SSLO_STORGE", "x", "SSLO_STORGE")]
    public void A_misspelled_variable_or_a_bad_value_fails_the_binding(string name, string value, string message)
    {
        var silo = K8sContainers().Single(c => c.Where == "deploy/k8s/silo.yaml Deployment/sslo-silo container silo");
        var env = new Dictionary<string, string>(silo.Env) { [name] = value };
        var e = Assert.ThrowsAny<Exception>(() => Bind(env, "test"));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void The_silo_manifest_runs_Kubernetes_hosting_with_the_pod_labels_as_cluster_ids()
    {
        var silo = K8sContainers().Single(c => c.Where == "deploy/k8s/silo.yaml Deployment/sslo-silo container silo");
        var c = Bind(silo.Env, silo.Where);
        Assert.NotNull(c.Kubernetes);
        Assert.Equal(silo.Labels["orleans/clusterId"], c.ClusterId);
        Assert.Equal(silo.Labels["orleans/serviceId"], c.ServiceId);
        Assert.Equal(PodIP, c.AdvertisedIP.ToString());
        Assert.Equal(ClusteringKind.Redis, c.Clustering);
    }

    [Fact]
    public void The_probes_ask_for_what_the_silo_serves_on_its_HTTP_port()
    {
        var (doc, container) = SiloContainer();
        var env = K8sContainers().Single(c => c.Where == "deploy/k8s/silo.yaml Deployment/sslo-silo container silo").Env;
        int httpPort = Bind(env, "silo.yaml").HttpPort;
        Assert.Equal(HealthEndpoints.Ready, container.Text("readinessProbe", "httpGet", "path"));
        Assert.Equal(HealthEndpoints.Live, container.Text("livenessProbe", "httpGet", "path"));
        Assert.Equal(HealthEndpoints.Live, container.Text("startupProbe", "httpGet", "path"));
        foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
            Assert.Equal(httpPort, ContainerPort(container, container.Text(probe, "httpGet", "port")!));
        // The image's HEALTHCHECK checks the same silo through its own configuration (Silo:HttpPort), and the compose
        // silos keep the port the image's ENV gives.
        var image = ContainerImage.Read("deploy/docker/silo.Dockerfile").File.Final;
        Assert.Equal(httpPort.ToString(), image.Env["Silo__HttpPort"]);
        Assert.Contains(SiloHealthCheck.Flag, image.HealthCheck!);
        Assert.Equal(120, int.Parse(doc.Text("spec", "template", "spec", "terminationGracePeriodSeconds")!));
    }

    /// <summary>The readiness and liveness paths deploy/k8s/silo.yaml probes.</summary>
    public static (string Ready, string Live) SiloProbePaths()
    {
        var (_, container) = SiloContainer();
        return (container.Text("readinessProbe", "httpGet", "path")!, container.Text("livenessProbe", "httpGet", "path")!);
    }

    private const string PodIP = "10.244.3.17";

    /// <summary>The variables as the silo would see them, through its readers. The Tls files a manifest mounts from a secret
    /// are stood in for by real ones (same names, in a temporary folder), so that the Tls reader loads and checks them.</summary>
    private static SiloConfiguration Bind(IReadOnlyDictionary<string, string> env, string where)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in env)
        {
            var parts = name.Split("__");
            if (parts.Length == 1)
            {
                Assert.True(PlainVariables.Contains(name) || name.StartsWith("OTEL_", StringComparison.Ordinal),
                    $"{where}: {name}: neither a configuration key (Section__Key) nor a variable the silo reads ({string.Join(", ", PlainVariables)}, OTEL_*)");
                data[name] = value;
                continue;
            }
            if (parts[0] == TlsConfiguration.Section)
            {
                data[string.Join(':', parts)] = value;
                continue;
            }
            Assert.True(Sections.Contains(parts[0]), $"{where}: {name}: no configuration section {parts[0]} (the silo reads {string.Join(", ", Sections)})");
            data[string.Join(':', parts)] = value;
        }
        using var certificates = new Shared.TestCertificates();
        StandInTlsFiles(data, certificates);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
        var silo = SiloConfiguration.From(configuration);
        SslTrainingConfiguration.From(configuration);
        TelemetryConfiguration.From(configuration);
        using var tls = TlsConfiguration.From(configuration);
        return silo;
    }

    /// <summary>Points Tls:Certificate, Tls:Key and Tls:Authority at real PEM files of a throwaway authority.</summary>
    private static void StandInTlsFiles(Dictionary<string, string?> data, Shared.TestCertificates certificates)
    {
        if (!data.Keys.Any(k => k.StartsWith(TlsConfiguration.Section + ":", StringComparison.OrdinalIgnoreCase))) return;
        using var authority = Shared.TestCertificates.Authority("manifest test CA");
        using var leaf = Shared.TestCertificates.Leaf(authority, "manifest silo");
        var files = certificates.Pem("silo", leaf, authority);
        foreach (var (key, path) in new[] { ("Certificate", files.Certificate), ("Key", files.Key), ("Authority", files.Authority) })
            if (data.ContainsKey($"{TlsConfiguration.Section}:{key}")) data[$"{TlsConfiguration.Section}:{key}"] = path;
    }

    private sealed record Container(string Where, IReadOnlyDictionary<string, string> Env, IReadOnlyDictionary<string, string> Labels);

    /// <summary>Every container of every workload in deploy/k8s, with its variables resolved as the kubelet would
    /// (downward API and secrets as placeholders, $(VAR) expanded); a kustomize patch's containers onto its base's.</summary>
    private static IEnumerable<Container> K8sContainers()
    {
        var bases = new Dictionary<(string, string), Dictionary<string, object?>>();
        foreach (var file in Directory.GetFiles(K8s, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(ClusterTestSupport.RepoRoot, file);
            foreach (var doc in YamlFiles.Documents(file))
            {
                if (doc.Text("kind") is not ("Deployment" or "StatefulSet" or "DaemonSet" or "Job")) continue;
                var key = (doc.Text("kind")!, doc.Text("metadata", "name")!);
                var isPatch = doc.At("spec", "selector") is null && bases.ContainsKey(key);
                var labels = (isPatch ? bases[key] : doc).At("spec", "template", "metadata", "labels") as Dictionary<string, object?> ?? [];
                var labelText = labels.ToDictionary(l => l.Key, l => (string)l.Value!);
                if (!isPatch) bases[key] = doc;
                foreach (var item in doc.Items("spec", "template", "spec", "containers"))
                {
                    var name = item.Text("name")!;
                    var env = new List<object?>();
                    if (isPatch)
                    {
                        var baseContainer = bases[key].Items("spec", "template", "spec", "containers").Single(c => c.Text("name") == name);
                        var overrides = item.Items("env").Select(e => e.Text("name")).ToHashSet();
                        env.AddRange(baseContainer.Items("env").Where(e => !overrides.Contains(e.Text("name"))));
                    }
                    env.AddRange(item.Items("env"));
                    yield return new Container($"{relative} {key.Item1}/{key.Item2} container {name}", Resolve(env, labelText, relative), labelText);
                }
            }
        }
    }

    private static Dictionary<string, string> Resolve(List<object?> env, Dictionary<string, string> labels, string where)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in env)
        {
            var name = e.Text("name")!;
            string value;
            if (e.At("value") is string literal)
            {
                // $(VAR) expands to a variable defined earlier in the list, as the kubelet does.
                value = Reference().Replace(literal, m => values.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value);
            }
            else if (e.Text("valueFrom", "fieldRef", "fieldPath") is { } field)
            {
                value = field switch
                {
                    "metadata.name" => "sslo-silo-5c8d9-x2x7q",
                    "metadata.namespace" => "sslo-test",
                    "status.podIP" => PodIP,
                    _ when LabelRef().Match(field) is { Success: true } m => labels.TryGetValue(m.Groups[1].Value, out var label)
                        ? label : throw new Xunit.Sdk.XunitException($"{where}: {name} reads label {m.Groups[1].Value}, which the pod template does not have"),
                    _ => throw new Xunit.Sdk.XunitException($"{where}: {name}: fieldRef {field} has no placeholder in this test"),
                };
            }
            else if (e.At("valueFrom", "secretKeyRef") is not null)
            {
                value = name == SslOrleans.Storage.StorageOptions.EnvironmentVariable ? "UseDevelopmentStorage=true" : "from-a-secret";
            }
            else throw new Xunit.Sdk.XunitException($"{where}: {name} has neither value nor a valueFrom this test knows");
            values[name] = value;
        }
        return values;
    }

    /// <summary>The compose services: the image's ENV (the Dockerfile they build) under the service's environment.</summary>
    private static IEnumerable<(string Where, IReadOnlyDictionary<string, string> Env)> ComposeServices()
    {
        var compose = YamlFiles.Documents(Compose).Single();
        foreach (var (name, service) in (Dictionary<string, object?>)compose.At("services")!)
        {
            if (service.At("environment") is null) continue;
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            if (service.Text("build", "dockerfile") is { } dockerfile)
                foreach (var (k, v) in ContainerImage.Read(dockerfile).File.Final.Env) env[k] = v;
            switch (service.At("environment"))
            {
                case Dictionary<string, object?> map:
                    foreach (var (k, v) in map) env[k] = (string?)v ?? "";
                    break;
                case List<object?> list:
                    foreach (var s in list.Cast<string>()) env[s[..s.IndexOf('=')]] = s[(s.IndexOf('=') + 1)..];
                    break;
            }
            yield return ($"deploy/compose/compose.yaml service {name}", env);
        }
    }

    private static (Dictionary<string, object?> Doc, object? Container) SiloContainer()
    {
        var doc = YamlFiles.Documents(Path.Combine(K8s, "silo.yaml")).Single(d => d.Text("kind") == "Deployment" && d.Text("metadata", "name") == "sslo-silo");
        return (doc, doc.Items("spec", "template", "spec", "containers").Single(c => c.Text("name") == "silo"));
    }

    private static int ContainerPort(object? container, string port) =>
        int.TryParse(port, out var n) ? n
            : int.Parse(container.Items("ports").Single(p => p.Text("name") == port).Text("containerPort")!);

    [GeneratedRegex(@"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Reference();

    [GeneratedRegex(@"^metadata\.labels\['([^']+)'\]$")]
    private static partial Regex LabelRef();
}
