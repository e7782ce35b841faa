using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Hosting.Web;

/// <summary>
/// The run page and the JSON it polls: <c>/api/runs</c> (every run the registry remembers, newest first),
/// <c>/api/runs/{id}?after=N</c> (the run's status and its steps after step N) and <c>/api/runs/{id}/checkpoints</c>
/// (the checkpoints in the run's out location, read through the silo's checkpoint stores).
/// </summary>
internal sealed class RunPageEndpoints(IServiceProvider silo)
{
    /// <summary>Steps one answer carries at most (the page asks again from where it got to).</summary>
    private const int MaxStepsPerAnswer = 5000;

    private static readonly byte[] Page = ReadPage();

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase), new FiniteDoubleConverter() },
    };

    private IGrainFactory Grains => silo.GetRequiredService<IGrainFactory>();

    public void Map(WebApplication web)
    {
        web.MapGet("/", async context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            await context.Response.Body.WriteAsync(Page, context.RequestAborted);
        });
        web.MapGet("/healthz", context => WriteAsync(context, 200, new { status = "active", silo = SiloName() }));
        web.MapGet("/api/runs", Answering(ListAsync));
        web.MapGet("/api/runs/{id}", Answering(RunAsync));
        web.MapGet("/api/runs/{id}/checkpoints", Answering(CheckpointsAsync));
    }

    /// <summary>A grain call that fails (a silo going down, a run grain moving) is a 503 with its message, which the
    /// page shows until the next poll succeeds.</summary>
    private static RequestDelegate Answering(RequestDelegate handler) => async context =>
    {
        try
        {
            await handler(context);
        }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            await WriteAsync(context, 503, new { error = $"{e.GetType().Name}: {e.Message}" });
        }
    };

    private async Task ListAsync(HttpContext context)
    {
        var runs = await Grains.GetGrain<IRunRegistryGrain>(0).ListAsync();
        await WriteAsync(context, 200, new { silo = SiloName(), runs });
    }

    private async Task RunAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        long after = 0;
        if (context.Request.Query["after"] is { Count: > 0 } text
            && (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out after) || after < 0))
        {
            await WriteAsync(context, 400, new { error = $"after '{text}': must be a step number, 0 or more" });
            return;
        }
        var status = await Grains.GetGrain<IRunGrain>(id).GetStatusAsync();
        if (TrainingClient.IsUnknown(status))
        {
            await WriteAsync(context, 404, new { error = $"no run '{id}' on this cluster" });
            return;
        }
        var steps = await new TrainingClient(Grains).GetStepsAsync(id, after, MaxStepsPerAnswer, context.RequestAborted);
        await WriteAsync(context, 200, new { status, steps });
    }

    private async Task CheckpointsAsync(HttpContext context)
    {
        var id = (string)context.Request.RouteValues["id"]!;
        var status = await Grains.GetGrain<IRunGrain>(id).GetStatusAsync();
        if (TrainingClient.IsUnknown(status))
        {
            await WriteAsync(context, 404, new { error = $"no run '{id}' on this cluster" });
            return;
        }
        if (status.Out is not { Length: > 0 } location)
        {
            await WriteAsync(context, 200, new { location = (string?)null, checkpoints = Array.Empty<object>() });
            return;
        }
        try
        {
            var store = silo.GetRequiredService<ICheckpointStoreFactory>().Open(location);
            var entries = await new CheckpointCatalog(store).ListAsync(context.RequestAborted);
            var checkpoints = entries.OrderByDescending(e => e.Step).Select(e => new
            {
                step = e.Step, complete = e.IsComplete, latest = e.IsLatest, createdUtc = e.Summary?.CreatedUtc,
                files = e.Summary?.Files.Count, bytes = e.Summary?.Files.Sum(f => f.Bytes), metrics = e.Summary?.Metrics, problem = e.Problem,
            });
            await WriteAsync(context, 200, new { location, checkpoints });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or Azure.RequestFailedException)
        {
            // The page shows why it cannot list them (a folder on another machine, a blob account this silo cannot reach).
            await WriteAsync(context, 200, new { location, checkpoints = Array.Empty<object>(), error = $"{location}: {e.Message}" });
        }
    }

    private string SiloName() => silo.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString();

    private static async Task WriteAsync(HttpContext context, int status, object body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, body.GetType(), Json, context.RequestAborted);
    }

    private static byte[] ReadPage()
    {
        const string Name = "SslOrleans.Hosting.Web.run-page.html";
        using var stream = typeof(RunPageEndpoints).Assembly.GetManifestResourceStream(Name)
            ?? throw new InvalidOperationException($"the run page ({Name}) is not embedded in {typeof(RunPageEndpoints).Assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>JSON has no NaN or infinity (a step's probe accuracy is NaN before the probe has a batch): null instead.</summary>
    private sealed class FiniteDoubleConverter : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }
}
