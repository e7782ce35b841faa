using Microsoft.Extensions.Hosting;
using SslOrleans.Hosting;

// A standalone silo hosting the training grains. Development clustering on loopback; the multi-silo
// clustering providers (Redis, Azure Tables) come with the cluster work.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSslTelemetry(builder.Configuration);
builder.UseOrleans(silo => silo.UseSslSilo(builder.Configuration));
await builder.Build().RunAsync();
