using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>
/// deploy/local/chaos.sh with three kills: BYOL on a 4-silo Redis cluster with checkpoints in Azurite, undisturbed
/// and while the silos of the coordinator, of a parameter shard and of a worker are SIGKILLed in turn (each replaced);
/// both runs must train the same model, with no sample lost or doubled. build/test.sh runs this category in its first
/// kernel pass only (the two runs are compared on the same kernels).
/// </summary>
[Trait("Category", "Chaos")]
public sealed class ChaosTests(ITestOutputHelper output)
{
    private static readonly string Script = Path.Combine(ClusterTestSupport.RepoRoot, "deploy", "local", "chaos.sh");

    /// <summary>Settings of chaos.sh this test chooses; any the test runner's environment has are not passed on.</summary>
    private static readonly string[] ChaosVariables =
    [
        "KILLS", "CHAOS_STEPS", "CHAOS_SEED", "CHAOS_KILL_SEED", "CHAOS_GAP", "CHAOS_SILOS", "CHAOS_TIMEOUT",
        "CHAOS_STALL_SECONDS", "CHAOS_PRETRAIN_ARGS", "CHAOS_STATUS_TIMEOUT", "CHAOS_STORAGE", "CHAOS_KEEP",
        "CHAOS_JSON", "CHAOS_CONTAINER", "SSLO_CLUSTER_DIR", "SSLO_REDIS_PORT", "SSLO_STORAGE",
    ];

    [Fact]
    public async Task Three_kills_aimed_at_the_coordinator_a_shard_and_a_worker_leave_the_model_identical()
    {
        // chaos.sh makes its own folder (cluster state, Azurite, the runs' output) under TMPDIR and its own Redis port;
        // with CHAOS_KEEP=1 it leaves that folder, the silos' logs included, for a failure to point at.
        var root = ClusterTestSupport.TempDir("sslo-chaos-test");
        var env = new Dictionary<string, string>
        {
            ["KILLS"] = "3",
            // 120 steps: kill seed 5525 puts the kills at steps 15, 45 and 82 (or a few steps later: each waits for
            // sslo status), each well after the previous one's replacement silo joined and well before the end.
            ["CHAOS_STEPS"] = "120",
            ["CHAOS_SEED"] = "0",
            ["CHAOS_KILL_SEED"] = "5525",
            ["CHAOS_KEEP"] = "1",
            ["TMPDIR"] = root,
        };
        var (code, stdout, stderr) = await RunChaosAsync(env, TimeSpan.FromMinutes(25));

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // The kills and the verdict, for the test log.
        foreach (var line in Tail(stderr, int.MaxValue).Split('\n').Where(l => l.StartsWith("chaos: ", StringComparison.Ordinal))) output.WriteLine(line);
        if (lines.Length > 0) output.WriteLine(lines[^1]);
        string context = $"chaos.sh exit {code}; its last stdout line: {(lines.Length > 0 ? lines[^1] : "(none)")}; " +
            $"its folder (silo logs in cluster/) is kept in {root}; the end of its stderr:\n{Tail(stderr, 40)}";
        Assert.True(code == 0, context);
        Assert.True(lines.Length > 0, context);

        using var json = JsonDocument.Parse(lines[^1]);
        var r = json.RootElement;
        Assert.True(r.GetProperty("kills").GetInt32() == 3, context);
        Assert.True(r.GetProperty("identical").GetBoolean(), context);
        Assert.True(r.GetProperty("samples_lost").ValueKind == JsonValueKind.Number && r.GetProperty("samples_lost").GetInt64() == 0, context);
        Assert.True(r.GetProperty("samples_doubled").ValueKind == JsonValueKind.Number && r.GetProperty("samples_doubled").GetInt64() == 0, context);
        Assert.True(r.GetProperty("failure").ValueKind == JsonValueKind.Null, context);
        var roles = r.GetProperty("kill_roles").EnumerateArray().Select(e => e.GetString() ?? "").ToList();
        Assert.True(roles.Count == 3, context);
        Assert.True(roles.Contains("coordinator"), context);
        Assert.True(roles.Any(role => Regex.IsMatch(role, @"^shard \d+$")), context);
        Assert.True(roles.Any(role => Regex.IsMatch(role, @"^worker \d+$")), context);
        // Each kill's victim hosted the role it was aimed at.
        var hosted = r.GetProperty("kill_hosted").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetString()).ToList()).ToList();
        Assert.True(hosted.Count == 3 && roles.Zip(hosted).All(p => p.Second.Contains(p.First)), context);

        Directory.Delete(root, recursive: true);
    }

    /// <summary>Runs chaos.sh to its end. Past <paramref name="timeout"/> it gets SIGTERM, so that it stops the silos,
    /// Redis and Azurite it started (its silos are not its children: cluster.sh starts them in the background), and
    /// is killed with what is left of its process tree a minute and a half later.</summary>
    private static async Task<(int Code, string Out, string Err)> RunChaosAsync(Dictionary<string, string> env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(Script)
        {
            WorkingDirectory = ClusterTestSupport.RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var v in ChaosVariables) psi.Environment.Remove(v);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {Script}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            ClusterTestSupport.Signal(p.Id, 15);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try { await p.WaitForExitAsync(grace.Token); }
            catch (OperationCanceledException) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); }
            Assert.Fail($"chaos.sh did not end within {timeout} (stopped with SIGTERM); its folder is kept in {env["TMPDIR"]}; " +
                $"the end of its stderr:\n{Tail(await stderr, 40)}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    private static string Tail(string text, int lines)
    {
        // The pretrains' progress is rewritten in place with \r: only the last state of each line counts.
        var all = text.Split('\n').Select(l => l.Split('\r', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
            .Where(l => l.Trim().Length > 0).ToList();
        return string.Join('\n', all.Skip(Math.Max(0, all.Count - lines)));
    }
}
