using System.Text.Json;
using SslOrleans.Grains.Tests.Cli;
using SslOrleans.Grains.Tests.Cluster;

namespace SslOrleans.Grains.Tests.Operations;

/// <summary>
/// An operator's session against a two-silo cluster, every command through <c>--cluster</c> as typed: submit with
/// --detach, list, status, watch (in another "shell"), scale, stop; every --json output is one parseable line.
/// </summary>
[Trait("Category", TwoSiloCluster.Category)]
public sealed class ClusterVerbsTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private static Task<(int Code, string Out, string Err)> Sslo(params string[] args) => SsloInProcess.RunAsync(args);

    /// <summary>The last line of stdout, which must be a JSON object (and with --json, the only line).</summary>
    private static JsonElement LastJson(string stdout, bool only)
    {
        var lines = stdout.TrimEnd().Split('\n');
        if (only) Assert.True(lines.Length == 1, $"--json printed more than one line:\n{stdout}");
        using var doc = JsonDocument.Parse(lines[^1]);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    private static string[] TinyRun(string runId, string connection) =>
    [
        "pretrain", "--detach", "--cluster", connection, "--run-id", runId, "--out", ClusterTestSupport.TempDir("sslo-verbs"),
        "--steps", "100000", "--width", "4", "--hidden-dim", "16", "--projection-dim", "8", "--batch", "32", "--micro-batch", "8",
        "--workers", "2", "--parameter-shards", "1", "--data-shards", "2", "--threads-per-worker", "1", "--checkpoint-minutes", "0", "--no-eval",
    ];

    [Fact]
    public async Task Detach_runs_status_watch_scale_and_stop_drive_a_run_on_a_two_silo_cluster()
    {
        var c = cluster.RedisConnection;
        var runId = "verbs-" + Guid.NewGuid().ToString("N")[..8];

        var (code, stdout, stderr) = await Sslo(TinyRun(runId, c));
        Assert.True(code == 0, stderr);
        var submitted = LastJson(stdout, only: true);
        Assert.Equal(runId, submitted.GetProperty("run_id").GetString());
        Assert.Equal("running", submitted.GetProperty("state").GetString());

        // Another shell watches the run while this one lists, scales and stops it.
        var watch = Sslo("watch", runId, "--cluster", c, "--json");

        // Wait for a few steps through status --json.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        JsonElement status;
        do
        {
            (code, stdout, stderr) = await Sslo("status", runId, "--cluster", c, "--json");
            Assert.True(code == 0, stderr);
            status = LastJson(stdout, only: true);
            Assert.True(DateTime.UtcNow < deadline, $"no third step within two minutes: {stdout}");
        } while (status.GetProperty("step").GetInt64() < 3);
        Assert.Equal("running", status.GetProperty("state").GetString());

        (code, stdout, stderr) = await Sslo("runs", "--cluster", c);
        Assert.True(code == 0, stderr);
        Assert.StartsWith("RUN ", stdout);
        Assert.Contains(stdout.Split('\n'), l => l.StartsWith(runId + " ", StringComparison.Ordinal) && l.Contains(" byol ") && l.Contains(" running "));
        var listed = LastJson(stdout, only: false).GetProperty("runs").EnumerateArray().Single(r => r.GetProperty("run_id").GetString() == runId);
        Assert.Equal(("byol", "running", 2), (listed.GetProperty("method").GetString(), listed.GetProperty("state").GetString(), listed.GetProperty("workers").GetInt32()));
        Assert.True(listed.GetProperty("images_per_sec").GetDouble() > 0);

        (code, stdout, stderr) = await Sslo("scale", runId, "--workers", "1", "--cluster", c, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal(1, LastJson(stdout, only: true).GetProperty("target_workers").GetInt32());
        // A step with one worker before the stop, so that the watch has the change to show.
        deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        do
        {
            (code, stdout, stderr) = await Sslo("status", runId, "--cluster", c, "--json");
            Assert.True(code == 0, stderr);
            status = LastJson(stdout, only: true);
            Assert.True(DateTime.UtcNow < deadline, $"no step with one worker within two minutes: {stdout}");
        } while (status.GetProperty("last").GetProperty("workers").GetInt32() != 1);

        (code, stdout, stderr) = await Sslo("stop", runId, "--cluster", c, "--wait", "--json");
        Assert.True(code == 0, stderr);
        var stopped = LastJson(stdout, only: true);
        Assert.Equal("stopped", stopped.GetProperty("state").GetString());
        long lastStep = stopped.GetProperty("step").GetInt64();
        Assert.InRange(lastStep, 3, 99_999);

        var (watchCode, watchOut, watchErr) = await watch.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(watchCode == 0, watchErr);
        var watched = LastJson(watchOut, only: true);
        Assert.Equal(("stopped", lastStep), (watched.GetProperty("state").GetString(), watched.GetProperty("step").GetInt64()));
        // The watch showed the run live: its first steps, and the scale-down to one worker as a line of its own.
        Assert.Contains("step 1/100000", watchErr);
        Assert.Contains("1 worker (was 2)", watchErr);

        (code, stdout, stderr) = await Sslo("runs", "--cluster", c, "--json");
        Assert.True(code == 0, stderr);
        Assert.Equal("stopped", LastJson(stdout, only: true).GetProperty("runs").EnumerateArray()
            .Single(r => r.GetProperty("run_id").GetString() == runId).GetProperty("state").GetString());
    }

    [Theory]
    [InlineData("watch")]
    [InlineData("stop")]
    public async Task A_run_the_cluster_never_saw_is_bad_input_naming_it(string verb)
    {
        var unknown = "no-such-run-" + Guid.NewGuid().ToString("N")[..6];
        var (code, stdout, stderr) = await Sslo(verb, unknown, "--cluster", cluster.RedisConnection);
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Equal("", stdout);
        Assert.Contains($"run '{unknown}' is unknown to this cluster", stderr);
    }
}
