using System.Text.Json;
using SslOrleans.Core.Numerics;
using SslOrleans.Grains.Tests.Cli;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>deploy/local/cluster.sh up 2: two silo processes on Redis, a run submitted with sslo pretrain --cluster, then down.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class MultiProcessClusterTests
{
    private static readonly string Script = Path.Combine(ClusterTestSupport.RepoRoot, "deploy", "local", "cluster.sh");

    [Fact]
    public async Task Two_silo_processes_share_a_run_submitted_with_cluster_and_down_stops_them()
    {
        var root = ClusterTestSupport.TempDir("sslo-cluster");
        var state = Path.Combine(root, "state");
        int redisPort = ClusterTestSupport.FreePort();
        var env = new Dictionary<string, string> { ["SSLO_CLUSTER_DIR"] = state, ["SSLO_REDIS_PORT"] = redisPort.ToString() };
        var recorded = new List<int>();
        (int Code, string Out, string Err) down;
        try
        {
            // Publishing the silo (when build/test.sh has not) takes a minute or two on 2 cores.
            // The silos apply the oneDNN guard themselves (forced on here, so that it shows on any processor).
            // They also name their blob storage account, without its key.
            var up = await ClusterTestSupport.RunAsync(Script, ["up", "2"], new Dictionary<string, string>(env)
                {
                    [OneDnnIsaGuard.ModeVariable] = "on",
                    [SslOrleans.Storage.StorageOptions.EnvironmentVariable] = "AccountName=devstoreaccount1;AccountKey=c2VjcmV0LWtleQ==;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;",
                },
                TimeSpan.FromMinutes(6), unset: [OneDnnIsaGuard.IsaVariable]);
            recorded.AddRange(Directory.Exists(state)
                ? Directory.GetFiles(state, "*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim()))
                : []);
            Assert.True(up.Code == 0, $"cluster.sh up 2 failed ({up.Code}): {up.Err}");
            var connection = up.Out.TrimEnd().Split('\n')[^1];
            Assert.Equal($"redis://127.0.0.1:{redisPort}", connection);
            Assert.Equal(3, recorded.Count); // two silos and the Redis it started
            Assert.All(recorded, pid => Assert.True(ClusterTestSupport.IsRunning(pid), $"pid {pid} is not running"));
            var readyLines = Directory.GetFiles(state, "silo-*.log").SelectMany(File.ReadLines).Where(l => l.Contains("sslo silo ready:")).ToList();
            Assert.Equal(2, readyLines.Count);
            Assert.All(readyLines, l => Assert.Contains("oneDNN ISA capped at AVX2 (SSLO_ONEDNN_GUARD=on)", l));
            Assert.All(readyLines, l => Assert.Contains("blob storage: connection string AccountName=devstoreaccount1;AccountKey=***;", l));
            Assert.All(readyLines, l => Assert.DoesNotContain("c2VjcmV0LWtleQ", l));

            var status = await ClusterTestSupport.RunAsync(Script, ["status"], env, TimeSpan.FromSeconds(30));
            Assert.True(status.Code == 0, status.Out + status.Err);
            var again = await ClusterTestSupport.RunAsync(Script, ["up", "1"], env, TimeSpan.FromSeconds(30));
            Assert.NotEqual(0, again.Code);
            Assert.Contains("is running", again.Err);

            var outDir = Path.Combine(root, "byol");
            var (code, stdout, stderr) = await SsloInProcess.RunAsync("pretrain", "--method", "byol", "--width", "4", "--workers", "2",
                "--batch", "32", "--micro-batch", "8", "--steps", "3", "--seed", "0", "--no-eval", "--out", outDir, "--cluster", connection);
            Assert.True(code == 0, stderr);
            Assert.Contains("step 3/3", stderr);
            using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
            var r = json.RootElement;
            Assert.Equal(3, r.GetProperty("steps").GetInt64());
            Assert.Equal(2, r.GetProperty("workers").GetInt32());
            // One worker per silo: each silo offers one slot (cpu@T), so the run must have spread over both.
            Assert.Equal(2, r.GetProperty("silos").GetInt32());
        }
        finally
        {
            down = await ClusterTestSupport.RunAsync(Script, ["down"], env, TimeSpan.FromMinutes(1));
            if (down.Code == 0 && Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
        Assert.True(down.Code == 0, down.Err);
        Assert.All(recorded, pid => Assert.False(ClusterTestSupport.IsRunning(pid), $"pid {pid} still runs after down"));
        Assert.False(Directory.Exists(state));
        var nothing = await ClusterTestSupport.RunAsync(Script, ["down"], env, TimeSpan.FromSeconds(30));
        Assert.Equal(0, nothing.Code);
    }
}
