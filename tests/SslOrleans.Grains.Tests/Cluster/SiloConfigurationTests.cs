using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using SslOrleans.Hosting;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>Sections "Silo" and "SslTraining": defaults, the forms they take, and errors that name the key.</summary>
public sealed class SiloConfigurationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Defaults_are_a_development_silo_on_loopback()
    {
        var c = SiloConfiguration.From(Config());
        Assert.Equal(ClusteringKind.Localhost, c.Clustering);
        Assert.Equal(("sslo-dev", "sslo", 11111, 30000), (c.ClusterId, c.ServiceId, c.SiloPort, c.GatewayPort));
        Assert.Equal("127.0.0.1", c.AdvertisedIP.ToString());
        Assert.Null(c.PrimarySiloPort);
    }

    [Fact]
    public void Every_SslTraining_key_reaches_the_silo_that_UseSslSilo_builds()
    {
        var config = Config(("SslTraining:DataPlane", "false"), ("SslTraining:DataPort", "12345"), ("SslTraining:ConnectionsPerSilo", "2"),
            ("SslTraining:MaxMessageBodySize", "2097152"), ("SslTraining:Devices", "cpu*2"), ("SslTraining:ResponseTimeout", "00:05:00"),
            ("SslTraining:DataPlaneMaxFrameBytes", "1048576"), ("SslTraining:DataPlaneMaxBufferedBytes", "3221225472"), ("SslTraining:DataPlaneMaxConnections", "64"),
            ("SslTraining:DataPlaneReadTimeout", "00:00:30"), ("SslTraining:DataPlaneIdleTimeout", "00:01:00"),
            ("SslTraining:MaxParameters", "5000000"), ("SslTraining:MaxBatch", "1024"), ("SslTraining:MaxMicroBatch", "128"),
            ("SslTraining:ExchangeBench", "true"), ("SslTraining:ShutdownTimeout", "00:02:00"), ("Storage:AllowedRoots", "/data;az://runs/team"));
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.UseSslSilo(config));
        using var host = builder.Build(); // built, not started
        var services = host.Services;
        Assert.Equal(new SslOrleans.Grains.Compute.TensorDataPlaneOptions(false, 12345)
        {
            MaxFrameBytes = 1 << 20, MaxBufferedBytes = 3L << 30, MaxConnections = 64, ReadTimeout = TimeSpan.FromSeconds(30), IdleTimeout = TimeSpan.FromMinutes(1),
        }, services.GetRequiredService<SslOrleans.Grains.Compute.TensorDataPlaneOptions>());
        Assert.Equal(2, services.GetRequiredService<IOptions<ConnectionOptions>>().Value.ConnectionsPerEndpoint);
        var messaging = services.GetRequiredService<IOptions<SiloMessagingOptions>>().Value;
        Assert.Equal((2097152, TimeSpan.FromMinutes(5)), (messaging.MaxMessageBodySize, messaging.ResponseTimeout));
        Assert.Equal(2, services.GetRequiredService<LocalDeviceSlots>().Slots.Count);
        var limits = services.GetRequiredService<SslOrleans.Grains.Runs.RunLimits>();
        Assert.Equal((5000000L, 1024, 128), (limits.MaxParameters, limits.MaxBatch, limits.MaxMicroBatch));
        Assert.Equal(["/data", "az://runs/team"], limits.Roots.Roots.Select(r => r.Text));
        Assert.Contains(typeof(SslOrleans.Grains.Bench.ExchangeBenchGrain), services.GetRequiredService<IOptions<GrainTypeOptions>>().Value.Classes);
        Assert.Equal(TimeSpan.FromMinutes(2), services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), services.GetRequiredService<IOptions<GrainCollectionOptions>>().Value.DeactivationTimeout);

        // Without ExchangeBench the silo has no benchmark grain to activate.
        var plain = Host.CreateApplicationBuilder();
        plain.UseOrleans(silo => silo.UseSslSilo(Config()));
        using var plainHost = plain.Build();
        Assert.DoesNotContain(typeof(SslOrleans.Grains.Bench.ExchangeBenchGrain), plainHost.Services.GetRequiredService<IOptions<GrainTypeOptions>>().Value.Classes);
        Assert.Contains(typeof(SslOrleans.Grains.Runs.RunGrain), plainHost.Services.GetRequiredService<IOptions<GrainTypeOptions>>().Value.Classes);
    }

    [Fact]
    public void Flags_and_environment_style_keys_set_Redis_and_AzureTable_clustering()
    {
        var flags = new ConfigurationBuilder().AddCommandLine(["--Silo:Clustering=redis", "--Silo:ConnectionString=127.0.0.1:6380",
            "--Silo:SiloPort=11112", "--SslTraining:Devices=cpu@1", "--SslTraining:MaxMessageBodySize=209715200"]).Build();
        var c = SiloConfiguration.From(flags);
        Assert.Equal(ClusteringKind.Redis, c.Clustering);
        Assert.Equal(11112, c.SiloPort);
        Assert.Equal("redis://127.0.0.1:6380", c.MembershipDisplay);
        var training = SslTrainingConfiguration.From(flags);
        Assert.Equal(("cpu@1", 200 * 1024 * 1024), (training.Devices, training.MaxMessageBodySize));

        Assert.Equal("redis://127.0.0.1:6379", SiloConfiguration.From(Config(("Silo:Clustering", "Redis"), ("Silo:ConnectionString", "redis://127.0.0.1:6379"))).MembershipDisplay);
        var azure = SiloConfiguration.From(Config(("Silo:Clustering", "AzureTable"), ("Silo:ConnectionString", "UseDevelopmentStorage=true")));
        Assert.Equal(ClusteringKind.AzureTable, azure.Clustering);
        Assert.Equal(11111, SiloConfiguration.From(Config(("Silo:PrimarySiloPort", "11111"), ("Silo:SiloPort", "11112"))).PrimarySiloPort);
    }

    [Theory]
    [InlineData("Silo:Clustering", "Foo", "Silo:Clustering 'Foo': must be Localhost, Redis or AzureTable")]
    [InlineData("Silo:Clustering", "1", "Silo:Clustering '1': must be Localhost, Redis or AzureTable")]
    [InlineData("Silo:SiloPort", "70000", "Silo:SiloPort '70000': must be a TCP port")]
    [InlineData("Silo:GatewayPort", "abc", "Silo:GatewayPort 'abc': must be a TCP port")]
    [InlineData("Silo:GatewayPort", "11111", "Silo:GatewayPort '11111': must differ from Silo:SiloPort")]
    [InlineData("Silo:AdvertisedIP", "silo-1", "Silo:AdvertisedIP 'silo-1': must be the IP address")]
    [InlineData("Silo:AdvertisedIP", "10.0.0.5", "Localhost clustering runs on loopback only")]
    [InlineData("Silo:ClusterId", "a/b", "Silo:ClusterId 'a/b': must not contain '/'")]
    [InlineData("Silo:Clustring", "Redis", "Silo:Clustring: unknown key")]
    [InlineData("SslTraining:Devices", "gpu", "SslTraining:Devices 'gpu'")]
    [InlineData("SslTraining:MaxMessageBodySize", "12", "SslTraining:MaxMessageBodySize '12': must be a whole number of bytes")]
    [InlineData("SslTraining:ResponseTimeout", "soon", "SslTraining:ResponseTimeout 'soon': must be a duration")]
    [InlineData("SslTraining:Device", "cpu", "SslTraining:Device: unknown key")]
    [InlineData("SslTraining:DataPlaneMaxFrameBytes", "2147483647", "SslTraining:DataPlaneMaxFrameBytes '2147483647': must be a whole number of bytes from 1024 to 1073741824")]
    [InlineData("SslTraining:DataPlaneMaxBufferedBytes", "1048576", "SslTraining:DataPlaneMaxBufferedBytes '1048576': must admit one frame of SslTraining:DataPlaneMaxFrameBytes")]
    [InlineData("SslTraining:DataPlaneMaxBufferedBytes", "lots", "SslTraining:DataPlaneMaxBufferedBytes 'lots': must be a whole number of bytes")]
    [InlineData("SslTraining:DataPlaneMaxConnections", "0", "SslTraining:DataPlaneMaxConnections '0': must be a whole number of connections")]
    [InlineData("SslTraining:DataPlaneReadTimeout", "00:00:00.5", "SslTraining:DataPlaneReadTimeout '00:00:00.5': must be a duration")]
    [InlineData("SslTraining:DataPlaneIdleTimeout", "never", "SslTraining:DataPlaneIdleTimeout 'never': must be a duration")]
    public void A_bad_value_is_an_error_naming_its_key(string key, string value, string message)
    {
        var e = Assert.Throws<SslConfigurationException>(() =>
        {
            var config = Config((key, value));
            SiloConfiguration.From(config);
            SslTrainingConfiguration.From(config);
        });
        Assert.Equal(key, e.Key);
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("Redis", null, "Silo:ConnectionString", "Redis clustering needs the Redis server")]
    [InlineData("Redis", "redis://127.0.0.1:port", "Silo:ConnectionString", "not a Redis address")]
    [InlineData("AzureTable", null, "Silo:ConnectionString", "AzureTable clustering needs an Azure Storage connection string")]
    [InlineData("AzureTable", "127.0.0.1:6379", "Silo:ConnectionString", "not an Azure Storage connection string")]
    public void Clustering_needs_a_usable_connection_string(string clustering, string? connection, string key, string message)
    {
        var values = new List<(string, string)> { ("Silo:Clustering", clustering) };
        if (connection is not null) values.Add(("Silo:ConnectionString", connection));
        var e = Assert.Throws<SslConfigurationException>(() => SiloConfiguration.From(Config([.. values])));
        Assert.Equal(key, e.Key);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void PrimarySiloPort_belongs_to_Localhost_clustering_only()
    {
        var e = Assert.Throws<SslConfigurationException>(() => SiloConfiguration.From(Config(
            ("Silo:Clustering", "Redis"), ("Silo:ConnectionString", "127.0.0.1:6379"), ("Silo:PrimarySiloPort", "11111"))));
        Assert.Equal("Silo:PrimarySiloPort", e.Key);
    }

    [Fact]
    public void The_silo_host_refuses_bad_configuration_before_it_starts()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection([new("Silo:Clustering", "Foo")]);
        var e = Assert.Throws<SslConfigurationException>(() => builder.UseOrleans(silo => silo.UseSslSilo(builder.Configuration)));
        Assert.Equal("Silo:Clustering", e.Key);
    }

    private static readonly (string, string)[] Pod =
    [
        ("Silo:Kubernetes", "true"), ("Silo:Clustering", "Redis"), ("Silo:ConnectionString", "sslo-redis:6379"),
        ("POD_NAME", "sslo-silo-0"), ("POD_NAMESPACE", "ml"), ("POD_IP", "10.244.1.7"), ("ORLEANS_CLUSTER_ID", "lab"), ("ORLEANS_SERVICE_ID", "sslo"),
    ];

    [Fact]
    public void Kubernetes_takes_the_ids_and_the_address_from_the_pod_and_wires_Orleans_Kubernetes_hosting()
    {
        var config = Config(Pod);
        var c = SiloConfiguration.From(config);
        Assert.Equal(new KubernetesPod("sslo-silo-0", "ml", System.Net.IPAddress.Parse("10.244.1.7"), "lab", "sslo"), c.Kubernetes);
        Assert.Equal(("lab", "sslo", "10.244.1.7"), (c.ClusterId, c.ServiceId, c.AdvertisedIP.ToString()));
        Assert.Null(SiloConfiguration.From(Config(("Silo:Kubernetes", "false"))).Kubernetes);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleans(silo => silo.UseSslSilo(config));
        using var host = builder.Build(); // built, not started: no Kubernetes API here
        Assert.Contains(host.Services.GetServices<IConfigureOptions<ClusterOptions>>(), o => o.GetType().Namespace == "Orleans.Hosting.Kubernetes");
        Assert.Equal("10.244.1.7", host.Services.GetRequiredService<IOptions<EndpointOptions>>().Value.AdvertisedIPAddress.ToString());
    }

    [Theory]
    [InlineData("POD_NAME")]
    [InlineData("POD_NAMESPACE")]
    [InlineData("POD_IP")]
    [InlineData("ORLEANS_CLUSTER_ID")]
    [InlineData("ORLEANS_SERVICE_ID")]
    public void Kubernetes_without_a_pod_variable_fails_at_start_naming_the_key_and_the_variable(string missing)
    {
        var config = Config([.. Pod.Where(p => p.Item1 != missing)]);
        var e = Assert.Throws<SslConfigurationException>(() => SiloConfiguration.From(config));
        Assert.Equal("Silo:Kubernetes", e.Key);
        Assert.Contains($"Silo:Kubernetes 'true': the environment variable {missing} is missing", e.Message);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        Assert.Equal("Silo:Kubernetes", Assert.Throws<SslConfigurationException>(() => builder.UseOrleans(silo => silo.UseSslSilo(config))).Key);
    }

    [Theory]
    [InlineData("Silo:Kubernetes", "yes", "Silo:Kubernetes", "must be true or false")]
    [InlineData("Silo:Clustering", "Localhost", "Silo:Kubernetes", "needs Silo:Clustering Redis or AzureTable")]
    [InlineData("Silo:ClusterId", "other", "Silo:ClusterId", "differs from ORLEANS_CLUSTER_ID 'lab'")]
    [InlineData("POD_IP", "pod-ip", "Silo:Kubernetes", "POD_IP 'pod-ip' is not an IP address")]
    public void Kubernetes_refuses_what_Orleans_would_silently_override(string key, string value, string errorKey, string message)
    {
        var values = Pod.Where(p => p.Item1 != key).Append((key, value)).ToArray();
        var e = Assert.Throws<SslConfigurationException>(() => SiloConfiguration.From(Config(values)));
        Assert.Equal(errorKey, e.Key);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void AdvertisedIP_auto_is_a_routable_address_of_this_machine()
    {
        var c = SiloConfiguration.From(Config(("Silo:Clustering", "Redis"), ("Silo:ConnectionString", "127.0.0.1:6379"), ("Silo:AdvertisedIP", "auto")));
        Assert.False(System.Net.IPAddress.IsLoopback(c.AdvertisedIP));
        Assert.Contains(c.AdvertisedIP, System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address));
        Assert.Equal("10.244.1.7", SiloConfiguration.From(Config([.. Pod, ("Silo:AdvertisedIP", "auto")])).AdvertisedIP.ToString());
    }
}
