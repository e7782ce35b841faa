using System.Text.Json;
using System.Text.RegularExpressions;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Grains.Tests.Cli;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>
/// SIGTERM on a silo process that hosts a worker, mid-run (what a pod's eviction sends): the silo leaves without being
/// killed, its work goes to the others, and the run completes with the model an undisturbed run trains, nothing redone.
/// </summary>
[Trait("Category", Elastic.ElasticCluster.Category)]
public sealed partial class GracefulStopTests
{
    private static readonly string Script = Path.Combine(ClusterTestSupport.RepoRoot, "deploy", "local", "cluster.sh");

    private static readonly string[] Spec =
        ["pretrain", "--method", "byol", "--width", "4", "--workers", "2", "--threads-per-worker", "1", "--batch", "32", "--micro-batch", "8",
         "--steps", "80", "--seed", "0", "--no-eval"];

    [Fact]
    public async Task SIGTERM_on_a_worker_s_silo_mid_run_hands_its_work_over_and_the_run_ends_with_the_undisturbed_model()
    {
        var root = ClusterTestSupport.TempDir("sslo-graceful");
        var state = Path.Combine(root, "state");
        var env = new Dictionary<string, string> { ["SSLO_CLUSTER_DIR"] = state, ["SSLO_REDIS_PORT"] = ClusterTestSupport.FreePort().ToString() };
        try
        {
            var up = await ClusterTestSupport.RunAsync(Script, ["up", "3"], env, TimeSpan.FromMinutes(6));
            Assert.True(up.Code == 0, $"cluster.sh up 3 failed ({up.Code}): {up.Err}");
            var connection = up.Out.TrimEnd().Split('\n')[^1];
            var reference = await SsloInProcess.RunAsync(Spec.Concat(["--out", Path.Combine(root, "embedded")]).ToArray());
            Assert.True(reference.Code == 0, reference.Err);

            var run = SsloInProcess.RunAsync(Spec.Concat(["--out", Path.Combine(root, "disturbed"), "--cluster", connection]).ToArray());
            await using var watcher = await Client.ClusterClientHost.ConnectAsync(connection);
            var status = await UntilStepAsync(watcher.Client, 15, run);
            int victim = WorkerSilo(state, status);

            var stop = await ClusterTestSupport.RunAsync(Script, ["stop", victim.ToString()], env, TimeSpan.FromMinutes(2));
            Assert.True(stop.Code == 0, stop.Err);
            Assert.DoesNotContain("KILL", stop.Err); // it left by itself within the time allowed

            var (code, stdout, stderr) = await run.WaitAsync(TimeSpan.FromMinutes(5));
            Assert.True(code == 0, stderr);
            using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
            using var undisturbed = JsonDocument.Parse(reference.Out.TrimEnd().Split('\n')[^1]);
            var r = json.RootElement;
            Assert.Equal("completed", r.GetProperty("state").GetString());
            Assert.Equal(80, r.GetProperty("steps").GetInt64());
            Assert.Equal(undisturbed.RootElement.GetProperty("param_l2").GetRawText(), r.GetProperty("param_l2").GetRawText());
            Assert.Equal((0L, 0L, 0L), (r.GetProperty("samples_lost").GetInt64(), r.GetProperty("samples_doubled").GetInt64(), r.GetProperty("microbatches_redone").GetInt64()));
            Assert.Equal(0, r.GetProperty("steps_redone").GetInt64());

            var log = File.ReadAllText(Path.Combine(state, $"silo-{victim}.log"));
            Assert.Contains("Application is shutting down", log);
            Assert.DoesNotContain("Unhandled exception", log);
        }
        finally
        {
            var down = await ClusterTestSupport.RunAsync(Script, ["down"], env, TimeSpan.FromMinutes(1));
            if (down.Code == 0 && Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The one run of the cluster once it reached <paramref name="step"/>.</summary>
    private static async Task<RunStatus> UntilStepAsync(IClusterClient client, long step, Task<(int Code, string Out, string Err)> run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            Assert.False(run.IsCompleted, $"the run ended before step {step}: {(run.IsCompleted ? run.Result.Err : "")}");
            var runs = await client.GetGrain<IRunRegistryGrain>(0).ListAsync();
            if (runs.SingleOrDefault() is { Step: var at } status && at >= step) return status;
            Assert.True(DateTime.UtcNow < deadline, $"step {step} not reached within three minutes");
            await Task.Delay(200);
        }
    }

    /// <summary>The number of a silo that hosts a worker, preferring one that hosts neither the coordinator nor a shard.</summary>
    private static int WorkerSilo(string state, RunStatus status)
    {
        var roles = status.Roles ?? [];
        var ports = Directory.GetFiles(state, "silo-*.log").ToDictionary(
            f => int.Parse(Path.GetFileNameWithoutExtension(f)["silo-".Length..]),
            f => SiloPort().Match(File.ReadAllText(f)).Groups[1].Value);
        int Of(string role) => ports.Single(p => role.Contains($":{p.Value}:")).Key;
        var workers = roles.Where(r => r.StartsWith("worker ", StringComparison.Ordinal)).Select(Of).Distinct().ToList();
        var others = roles.Where(r => !r.StartsWith("worker ", StringComparison.Ordinal)).Select(Of).ToHashSet();
        Assert.NotEmpty(workers);
        return workers.FirstOrDefault(w => !others.Contains(w), workers[0]);
    }

    [GeneratedRegex(@"sslo silo ready:.*? silo port (\d+),")]
    private static partial Regex SiloPort();
}
