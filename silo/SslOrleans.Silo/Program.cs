using Microsoft.Extensions.Hosting;
using SslOrleans.Hosting;
using SslOrleans.Hosting.Web;

// A standalone silo hosting the training grains, configured by sections "Silo" (cluster, endpoints, clustering:
// Localhost, Redis or AzureTable) and "SslTraining" (devices, message limit) from appsettings.json beside the dll,
// the environment (Silo__Clustering=Redis) and flags (--Silo:SiloPort=11112). See deploy/README.md. Telemetry (section
// "Telemetry": console, OTLP) and the HTTP endpoint on Silo:HttpPort (run page, /api/runs, Prometheus /metrics,
// /healthz, /healthz/live, /healthz/ready; 0: none) are wired here; docs/operations.md.
// `--health-check [live|ready]` instead checks the silo that this configuration describes (the images' HEALTHCHECK).
if (args is [SiloHealthCheck.Flag, .. var afterFlag])
{
    var (path, rest) = SiloHealthCheck.Parse(afterFlag);
    var configuration = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = rest, ContentRootPath = AppContext.BaseDirectory }).Configuration;
    return await SiloHealthCheck.RunAsync(configuration, path, Console.Error);
}

try
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.Services.AddSslTelemetry(builder.Configuration);
    builder.UseOrleans(silo => silo.UseSslSilo(builder.Configuration).AddSslWeb(builder.Configuration));
    await builder.Build().RunAsync();
    return 0;
}
catch (SslConfigurationException e)
{
    // Bad configuration is the operator's input: one line naming the key (never a secret's value), exit 2.
    Console.Error.WriteLine($"sslo silo: {e.Message}");
    return 2;
}
