using Microsoft.Extensions.Hosting;
using SslOrleans.Hosting;

// A standalone silo hosting the training grains, configured by sections "Silo" (cluster, endpoints, clustering:
// Localhost, Redis or AzureTable) and "SslTraining" (devices, message limit) from appsettings.json beside the dll,
// the environment (Silo__Clustering=Redis) and flags (--Silo:SiloPort=11112). See deploy/README.md.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddSslTelemetry(builder.Configuration);
builder.UseOrleans(silo => silo.UseSslSilo(builder.Configuration));
await builder.Build().RunAsync();
