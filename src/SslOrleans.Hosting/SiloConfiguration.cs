using Microsoft.Extensions.Configuration;

namespace SslOrleans.Hosting;

/// <summary>The "Silo" configuration section (appsettings.json, environment Silo__ClusterId=…, --Silo:SiloPort=…).</summary>
public sealed class SiloConfiguration
{
    public string ClusterId { get; set; } = "sslo-dev";
    public string ServiceId { get; set; } = "sslo";
    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ClusterId)) throw new ArgumentException("Silo:ClusterId must not be empty");
        if (string.IsNullOrWhiteSpace(ServiceId)) throw new ArgumentException("Silo:ServiceId must not be empty");
        if (SiloPort is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(SiloPort), SiloPort, "Silo:SiloPort must be a TCP port");
        if (GatewayPort is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(GatewayPort), GatewayPort, "Silo:GatewayPort must be a TCP port");
    }

    public static SiloConfiguration From(IConfiguration configuration)
    {
        var c = new SiloConfiguration();
        configuration.GetSection("Silo").Bind(c);
        c.Validate();
        return c;
    }
}

public static class SslSiloExtensions
{
    /// <summary>A silo from configuration: localhost clustering on the configured ports, plus the training grains.</summary>
    public static ISiloBuilder UseSslSilo(this ISiloBuilder silo, IConfiguration configuration)
    {
        var c = SiloConfiguration.From(configuration);
        return silo.UseLocalhostClustering(c.SiloPort, c.GatewayPort, serviceId: c.ServiceId, clusterId: c.ClusterId).AddSslTraining();
    }
}
