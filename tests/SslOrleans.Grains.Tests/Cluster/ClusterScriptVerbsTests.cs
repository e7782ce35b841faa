using System.Text.RegularExpressions;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>deploy/local/cluster.sh add, stop K, kill K and the numbered status, on silo processes of a real cluster.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class ClusterScriptVerbsTests
{
    private static readonly string Script = Path.Combine(ClusterTestSupport.RepoRoot, "deploy", "local", "cluster.sh");

    [Fact]
    public async Task Add_starts_a_numbered_silo_stop_and_kill_end_silos_by_number_and_down_stops_the_added_one()
    {
        var root = ClusterTestSupport.TempDir("sslo-cluster-verbs");
        var state = Path.Combine(root, "state");
        var env = new Dictionary<string, string>
        {
            ["SSLO_CLUSTER_DIR"] = state,
            ["SSLO_REDIS_PORT"] = ClusterTestSupport.FreePort().ToString(),
        };
        var recorded = new List<int>();
        (int Code, string Out, string Err) down;
        try
        {
            var up = await Run(["up", "1"], TimeSpan.FromMinutes(6)); // publishes the silo when build/test.sh has not
            Assert.True(up.Code == 0, $"cluster.sh up 1 failed ({up.Code}): {up.Err}");
            var add = await Run(["add"], TimeSpan.FromMinutes(2));
            Assert.True(add.Code == 0, $"cluster.sh add failed ({add.Code}): {add.Err}");
            Assert.Equal("2", add.Out.TrimEnd().Split('\n')[^1]);
            Assert.Contains("devices cpu@1", File.ReadAllText(Path.Combine(state, "silo-2.log")));
            int pid1 = Pid(1), pid2 = Pid(2);
            recorded.AddRange(Directory.GetFiles(state, "*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim())));
            Assert.Equal(3, recorded.Count); // two silos and the Redis that up started

            var status = await Run(["status"], TimeSpan.FromSeconds(30));
            Assert.True(status.Code == 0, status.Out + status.Err);
            Assert.Equal([$"silo 1 pid {pid1}: running", $"silo 2 pid {pid2}: running"], SiloLines(status.Out));

            var stop = await Run(["stop", "1"], TimeSpan.FromSeconds(40));
            Assert.True(stop.Code == 0, stop.Err);
            Assert.False(ClusterTestSupport.IsRunning(pid1), "silo 1 still runs after stop 1");
            var kill = await Run(["kill", "2"], TimeSpan.FromSeconds(30));
            Assert.True(kill.Code == 0, kill.Err);
            Assert.False(ClusterTestSupport.IsRunning(pid2), "silo 2 still runs after kill 2");

            status = await Run(["status"], TimeSpan.FromSeconds(30));
            Assert.Equal(1, status.Code); // no silo runs (the Redis does, until down)
            Assert.Equal([$"silo 1 pid {pid1}: not running", $"silo 2 pid {pid2}: not running"], SiloLines(status.Out));

            var again = await Run(["kill", "2"], TimeSpan.FromSeconds(30));
            Assert.Equal(1, again.Code);
            Assert.Contains($"silo 2 (pid {pid2}) is not running", again.Err);
            var none = await Run(["kill", "9"], TimeSpan.FromSeconds(30));
            Assert.Equal(1, none.Code);
            Assert.Contains("there is no silo 9", none.Err);
            Assert.Contains("(silos: 1 2)", none.Err);
        }
        finally
        {
            down = await Run(["down"], TimeSpan.FromMinutes(1));
            if (down.Code == 0 && Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
        Assert.True(down.Code == 0, down.Err);
        Assert.All(recorded, pid => Assert.False(ClusterTestSupport.IsRunning(pid), $"pid {pid} still runs after down"));
        Assert.False(Directory.Exists(state));

        Task<(int Code, string Out, string Err)> Run(string[] args, TimeSpan timeout) =>
            ClusterTestSupport.RunAsync(Script, args, env, timeout);

        int Pid(int silo) => int.Parse(File.ReadAllText(Path.Combine(state, $"silo-{silo}.pid")).Trim());
    }

    /// <summary>The silo lines of cluster.sh status, trimmed, in its order.</summary>
    private static string[] SiloLines(string status) =>
        status.Split('\n').Select(l => l.Trim()).Where(l => Regex.IsMatch(l, @"^silo \d+ ")).ToArray();
}
