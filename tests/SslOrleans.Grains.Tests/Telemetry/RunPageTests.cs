using System.Net;
using System.Text.Json;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Grains.Tests.Runs;
using SslOrleans.Hosting;

namespace SslOrleans.Grains.Tests.Telemetry;

/// <summary>Two real silo processes (the silo program, artifacts/silo) each on its own HTTP port, training one long
/// tiny BYOL run that is still running while the tests look at it; the run and the processes go at the end.</summary>
public sealed class RunningClusterFixture : IAsyncLifetime
{
    private static readonly string SiloDll = Path.Combine(ClusterTestSupport.RepoRoot, "artifacts", "silo", "SslOrleans.Silo.dll");

    public LocalSiloProcesses Silos { get; private set; } = null!;
    public RunSpec Spec { get; private set; } = null!;
    public TrainingClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(SiloDll))
            throw new InvalidOperationException($"{SiloDll} is missing: deploy/local/cluster.sh publish (build/test.sh does it)");
        Silos = await LocalSiloProcesses.StartAsync(SiloDll, count: 2, slotsPerSilo: 1, TextWriter.Null);
        Client = new TrainingClient(Silos.Client);
        // Far more steps than the tests take: the run is running whenever they look.
        Spec = RunHarness.Tiny("page", workers: 2, steps: 100_000) with { ParameterShards = 2, CheckpointEvery = 5, KeepLast = 2 };
        await Client.SubmitAsync(Spec);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        RunStatus status;
        while ((status = await Client.GetStatusAsync(Spec.RunId)).Step < 6)
        {
            if (status.IsFinished) throw new InvalidOperationException($"the run ended {status.State} at step {status.Step}: {status.Error}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the run is at step {status.Step} ({status.Phase}) after 3 minutes");
            await Task.Delay(200);
        }
    }

    /// <summary>The HTTP endpoint of the silo that hosts the first of the run's roles named so ("coordinator", "worker").</summary>
    public async Task<Uri> EndpointOfAsync(string role)
    {
        var status = await Client.GetStatusAsync(Spec.RunId);
        var silo = (status.Roles ?? []).Select(r => r.Split(' ')).Where(p => p[0] == role).Select(p => p[^1]).First();
        using var http = new HttpClient();
        foreach (var web in Silos.WebAddresses)
        {
            using var health = JsonDocument.Parse(await http.GetStringAsync(new Uri(web, "healthz")));
            if (health.RootElement.GetProperty("silo").GetString() == silo) return web;
        }
        throw new InvalidOperationException($"no silo's /healthz names {silo}, which hosts the {role}");
    }

    public async Task DisposeAsync()
    {
        if (Silos is not null) await Silos.DisposeAsync();
        if (Spec is not null && Directory.Exists(Spec.Out)) Directory.Delete(Spec.Out, recursive: true);
    }
}

[Trait("Category", "Operations")]
public sealed class RunPageTests(RunningClusterFixture cluster) : IClassFixture<RunningClusterFixture>
{
    /// <summary>Set to a path to keep the page's screenshot (docs/images/run-page.png is taken so).</summary>
    public const string ScreenshotVariable = "SSLO_RUN_PAGE_SCREENSHOT";

    [Fact]
    public async Task Each_silo_process_serves_metrics_and_the_coordinator_s_counts_the_run_s_steps()
    {
        using var http = new HttpClient();
        foreach (var web in cluster.Silos.WebAddresses)
        {
            using var health = await http.GetAsync(new Uri(web, "healthz"));
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
        var coordinator = await cluster.EndpointOfAsync("coordinator");
        var text = await http.GetStringAsync(new Uri(coordinator, "metrics"));
        var steps = Assert.Single(text.Split('\n'), l => l.StartsWith("sslo_steps_total{", StringComparison.Ordinal) && l.Contains($"sslo_run=\"{cluster.Spec.RunId}\""));
        Assert.True(double.Parse(steps.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 6, steps);
        // Orleans' own meter, beside the project's.
        Assert.Contains("\norleans_", text);
        // Each worker counts its own exchange, on its own silo.
        var worker = await cluster.EndpointOfAsync("worker");
        var workerText = await http.GetStringAsync(new Uri(worker, "metrics"));
        Assert.Contains(workerText.Split('\n'), l => l.StartsWith("sslo_exchange_bytes_total{", StringComparison.Ordinal)
            && l.Contains($"sslo_run=\"{cluster.Spec.RunId}\"") && l.Contains("sslo_direction=\"push\""));
    }

    [Fact]
    public async Task The_run_page_shows_the_running_run_s_curves_updating_with_no_console_error()
    {
        await using var browser = await HeadlessChromium.StartAsync();
        // Any silo's page shows the whole cluster: the second's, while the run's coordinator may be on either.
        await browser.NavigateAsync(cluster.Silos.WebAddresses[1]);
        await browser.WaitUntilAsync("document.querySelectorAll('#loss-chart polyline').length === 1 && +document.getElementById('loss-chart').dataset.points >= 2", TimeSpan.FromSeconds(60));

        var shown = await browser.EvaluateAsync("""
            ({
              runs: [...document.querySelectorAll('#runs tbody tr')].map(r => r.dataset.run),
              selected: document.querySelector('#runs tbody tr.selected')?.dataset.run,
              title: document.getElementById('run-title').textContent,
              loss: +document.getElementById('loss-chart').dataset.points,
              rate: +document.getElementById('rate-chart').dataset.points,
              polyline: document.querySelector('#loss-chart polyline').getAttribute('points').trim().split(' ').length,
              roles: document.getElementById('roles').textContent,
              ledger: document.getElementById('ledger').textContent,
              state: document.querySelector('#runs tbody tr.selected td:nth-child(4)')?.textContent,
            })
            """);
        Assert.Contains(cluster.Spec.RunId, shown.GetProperty("runs").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(cluster.Spec.RunId, shown.GetProperty("selected").GetString());
        Assert.Equal($"Run {cluster.Spec.RunId}", shown.GetProperty("title").GetString());
        Assert.Equal("running", shown.GetProperty("state").GetString());
        int points = shown.GetProperty("loss").GetInt32();
        Assert.True(points >= 2, $"{points} points on the loss curve");
        Assert.True(shown.GetProperty("polyline").GetInt32() >= 2);
        Assert.True(shown.GetProperty("rate").GetInt32() >= 2);
        Assert.Contains("coordinator", shown.GetProperty("roles").GetString());
        Assert.Contains("worker", shown.GetProperty("roles").GetString());
        Assert.Contains("micro-batches committed", shown.GetProperty("ledger").GetString());

        // Live: the curve grows by itself as the run steps on, and the checkpoints appear.
        await browser.WaitUntilAsync($"+document.getElementById('loss-chart').dataset.points > {points}", TimeSpan.FromSeconds(60));
        await browser.WaitUntilAsync("document.querySelectorAll('#checkpoints tbody tr').length >= 1", TimeSpan.FromSeconds(60), "document.getElementById('checkpoints').textContent");

        if (Environment.GetEnvironmentVariable(ScreenshotVariable) is { Length: > 0 } path)
            await File.WriteAllBytesAsync(path, await browser.ScreenshotAsync());
        Assert.Empty(browser.Problems);
    }
}
