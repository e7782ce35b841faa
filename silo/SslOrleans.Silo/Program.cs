using Microsoft.Extensions.Hosting;
using SslOrleans.Hosting;
using SslOrleans.Hosting.Web;

// A standalone silo hosting the training grains, configured by sections "Silo" (cluster, endpoints, clustering:
// Localhost, Redis or AzureTable) and "SslTraining" (devices, message limit) from appsettings.json beside the dll,
// the environment (Silo__Clustering=Redis) and flags (--Silo:SiloPort=11112). See deploy/README.md. Telemetry (section
// "Telemetry": console, OTLP) and the HTTP endpoint on Silo:HttpPort (run page, /api/runs, Prometheus /metrics,
// /healthz; 0: none) are wired here; docs/operations.md.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddSslTelemetry(builder.Configuration);
builder.UseOrleans(silo => silo.UseSslSilo(builder.Configuration).AddSslWeb(builder.Configuration));
await builder.Build().RunAsync();
