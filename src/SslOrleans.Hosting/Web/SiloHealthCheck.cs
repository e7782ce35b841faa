using System.Net;
using Microsoft.Extensions.Configuration;

namespace SslOrleans.Hosting.Web;

/// <summary>
/// <c>dotnet SslOrleans.Silo.dll --health-check [live|ready]</c>: a container's HEALTHCHECK without curl (the .NET
/// runtime images have none). It reads the same configuration as the silo it checks (appsettings.json, environment,
/// flags) for <c>Silo:HttpPort</c>, GETs <c>/healthz/live</c> (or <c>/healthz/ready</c>) on loopback, and exits 0 on a
/// 200, 1 otherwise, with the reason on stderr.
/// </summary>
public static class SiloHealthCheck
{
    public const string Flag = "--health-check";

    /// <summary>The probe named by the first argument after the flag (live when none), and the arguments left for the configuration.</summary>
    public static (string Path, string[] Arguments) Parse(string[] afterFlag) => afterFlag switch
    {
        ["ready", .. var rest] => (HealthEndpoints.Ready, rest),
        ["live", .. var rest] => (HealthEndpoints.Live, rest),
        _ => (HealthEndpoints.Live, afterFlag),
    };

    public static async Task<int> RunAsync(IConfiguration configuration, string path, TextWriter error, TimeSpan? timeout = null)
    {
        int port;
        try
        {
            port = SiloConfiguration.From(configuration).HttpPort;
        }
        catch (SslConfigurationException e)
        {
            await error.WriteLineAsync($"health check: {e.Message}");
            return 1;
        }
        if (port == 0)
        {
            await error.WriteLineAsync("health check: Silo:HttpPort is 0: this silo serves no HTTP endpoint to check");
            return 1;
        }
        // The endpoint listens on loopback or on every address (SslWebExtensions), so loopback always reaches it.
        var url = new Uri($"http://{IPAddress.Loopback}:{port}{path}");
        using var http = new HttpClient { Timeout = timeout ?? TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK) return 0;
            await error.WriteLineAsync($"health check: {url} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await error.WriteLineAsync($"health check: {url}: {e.Message}");
        }
        return 1;
    }
}
