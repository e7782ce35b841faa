using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace SslOrleans.Hosting.Web;

/// <summary>
/// The probes: <c>/healthz/live</c> (the process and its silo answer: 200 while the endpoint serves) and
/// <c>/healthz/ready</c> (200 only while this silo is Active in the cluster's membership and not shutting down; 503 with
/// the reason otherwise). Kubernetes routes to a pod only while it is ready and restarts one that stops being live, so
/// readiness turns 503 as soon as the silo begins to stop, while the endpoint still serves (see <see cref="SslWebServer"/>).
/// </summary>
internal sealed class HealthEndpoints(IServiceProvider silo, SiloReadiness readiness)
{
    public const string Live = "/healthz/live";
    public const string Ready = "/healthz/ready";

    public void Map(WebApplication web)
    {
        web.MapGet(Live, context => WriteAsync(context, 200, new { status = "live", silo = SiloName(), silo_status = readiness.SiloStatus.ToString() }));
        web.MapGet(Ready, context =>
        {
            var (ready, reason) = readiness.Check();
            return ready
                ? WriteAsync(context, 200, new { status = "ready", silo = SiloName() })
                : WriteAsync(context, 503, new { status = "not ready", reason, silo = SiloName(), silo_status = readiness.SiloStatus.ToString() });
        });
    }

    private string SiloName() => silo.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString();

    private static async Task WriteAsync(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, body.GetType(), cancellationToken: context.RequestAborted);
    }
}

/// <summary>Whether this silo should take traffic: Orleans' view of its own membership status, and whether its stop began.</summary>
internal sealed class SiloReadiness(ISiloStatusOracle oracle)
{
    private volatile bool stopping;

    public SiloStatus SiloStatus => oracle.CurrentStatus;

    /// <summary>From here on the silo is never ready again (a stopped silo does not come back in this process).</summary>
    public void BeginStopping() => stopping = true;

    public (bool Ready, string? Reason) Check()
    {
        if (stopping) return (false, "shutting down: the silo is leaving the cluster");
        var status = oracle.CurrentStatus;
        return status == SiloStatus.Active ? (true, null) : (false, $"the silo is {status} in the cluster's membership, not Active");
    }
}
