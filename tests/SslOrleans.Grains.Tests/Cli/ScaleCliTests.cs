using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Grains.Tests.Runs;
using SslOrleans.Hosting;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>sslo scale and sslo status: their bad input, and both against a silo clustered in Redis, joined through --cluster.</summary>
public sealed class ScaleCliTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => SsloInProcess.RunAsync(args);

    [Theory]
    [InlineData(new[] { "scale" }, "scale: the run id is missing")]
    [InlineData(new[] { "scale", "--workers", "2", "--cluster", "redis://127.0.0.1:1" }, "scale: the run id is missing")]
    [InlineData(new[] { "scale", "r1", "--cluster", "redis://127.0.0.1:1" }, "scale: --workers N is missing")]
    [InlineData(new[] { "scale", "r1", "--workers", "0", "--cluster", "redis://127.0.0.1:1" }, "scale: --workers wants a positive integer, got '0'")]
    [InlineData(new[] { "scale", "r1", "--workers", "two", "--cluster", "redis://127.0.0.1:1" }, "scale: --workers wants a positive integer, got 'two'")]
    [InlineData(new[] { "scale", "r1", "--workers=-1", "--cluster", "redis://127.0.0.1:1" }, "scale: --workers wants a positive integer, got '-1'")]
    [InlineData(new[] { "scale", "r1", "--workers", "2" }, "scale: --cluster CONN is missing")]
    [InlineData(new[] { "scale", "r1", "--workers", "2", "--cluster" }, "scale: --cluster needs a value")]
    [InlineData(new[] { "scale", "r1", "--workers", "2", "--cluster", "nowhere" }, "--cluster 'nowhere'")]
    [InlineData(new[] { "scale", "r1", "--workers", "2", "--cluster", "redis://127.0.0.1:1", "--batch", "64" }, "scale: unknown flag '--batch'")]
    [InlineData(new[] { "runs" }, "runs: --cluster CONN is missing")]
    [InlineData(new[] { "runs", "r1", "--cluster", "redis://127.0.0.1:1" }, "runs: unexpected argument 'r1'")]
    [InlineData(new[] { "watch", "--cluster", "redis://127.0.0.1:1" }, "watch: the run id is missing")]
    [InlineData(new[] { "watch", "r1" }, "watch: --cluster CONN is missing")]
    [InlineData(new[] { "stop", "r1", "--cluster", "localhost:0" }, "--cluster 'localhost:0': '0' is not a gateway port")]
    [InlineData(new[] { "stop", "r1", "--wait=maybe", "--cluster", "redis://127.0.0.1:1" }, "stop: --wait wants true or false, got 'maybe'")]
    [InlineData(new[] { "pretrain", "--detach", "--steps", "2" }, "--detach needs --cluster CONN")]
    [InlineData(new[] { "status" }, "status: the run id is missing")]
    [InlineData(new[] { "status", "r1" }, "status: --cluster CONN is missing")]
    [InlineData(new[] { "status", "r1", "--workers", "2", "--cluster", "redis://127.0.0.1:1" }, "status: unknown flag '--workers'")]
    [InlineData(new[] { "status", "r1", "--json=yes", "--cluster", "redis://127.0.0.1:1" }, "status: --json wants true or false, got 'yes'")]
    public async Task Bad_input_is_one_line_naming_the_flag_and_exit_code_2(string[] args, string message)
    {
        await SsloInProcess.AssertBadInputAsync(args, message);
    }

    [Fact]
    public async Task Scale_and_status_reach_a_run_on_a_cluster_joined_through_redis()
    {
        var clusterId = "sslo-scale-" + Guid.NewGuid().ToString("N")[..8];
        var connection = $"redis://127.0.0.1:{redis.Port}?cluster={clusterId}";
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Silo:Clustering"] = "Redis",
            ["Silo:ConnectionString"] = $"127.0.0.1:{redis.Port}",
            ["Silo:ClusterId"] = clusterId,
            ["Silo:SiloPort"] = ClusterTestSupport.FreePort().ToString(),
            ["Silo:GatewayPort"] = ClusterTestSupport.FreePort().ToString(),
            ["SslTraining:Devices"] = "cpu*2",
        });
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo.UseSslSilo(builder.Configuration));
        using var silo = builder.Build();
        await silo.StartAsync();
        try
        {
            var client = new TrainingClient(silo.Services.GetRequiredService<IGrainFactory>());
            // Long enough to outlast the commands below; stopped once they are done.
            var spec = RunHarness.Tiny("cli-scale", workers: 1, steps: 2000) with { ParameterShards = 1, DataShards = 2, CheckpointMinutes = 0 };
            await client.SubmitAsync(spec);
            while ((await client.GetStatusAsync(spec.RunId)).Step < 2) await Task.Delay(50);

            var (code, stdout, stderr) = await RunAsync("scale", spec.RunId, "--workers", "2", "--cluster", connection);
            Assert.True(code == 0, stderr);
            using (var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]))
            {
                var r = json.RootElement;
                Assert.Equal(spec.RunId, r.GetProperty("run_id").GetString());
                Assert.Equal("running", r.GetProperty("state").GetString());
                Assert.True(r.GetProperty("step").GetInt64() >= 2);
                Assert.Equal(2, r.GetProperty("target_workers").GetInt32());
                Assert.Equal(1, r.GetProperty("workers").GetInt32());
            }
            Assert.Contains($"joined cluster {clusterId}", stderr);
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            RunStatus now;
            while ((now = await client.GetStatusAsync(spec.RunId)).Workers < 2)
            {
                Assert.False(now.IsFinished, $"{now.State}: {now.Error}");
                Assert.True(DateTime.UtcNow < deadline, $"the second worker did not join within two minutes (step {now.Step})");
                await Task.Delay(50);
            }

            (code, stdout, stderr) = await RunAsync("status", spec.RunId, "--cluster", connection);
            Assert.True(code == 0, stderr);
            // A line for people, then the JSON; with --json the JSON alone.
            Assert.Equal(2, stdout.TrimEnd().Split('\n').Length);
            Assert.StartsWith($"run {spec.RunId}: running, step ", stdout);
            var jsonOnly = await RunAsync("status", spec.RunId, "--cluster", connection, "--json");
            Assert.True(jsonOnly.Code == 0, jsonOnly.Err);
            using (JsonDocument.Parse(Assert.Single(jsonOnly.Out.TrimEnd().Split('\n')))) { }
            using (var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]))
            {
                var r = json.RootElement;
                Assert.Equal(spec.RunId, r.GetProperty("run_id").GetString());
                Assert.Equal("running", r.GetProperty("state").GetString());
                Assert.Equal(2, r.GetProperty("workers").GetInt32());
                Assert.Equal(2, r.GetProperty("ledger").GetProperty("workers_max").GetInt32());
                Assert.True(r.GetProperty("ledger").GetProperty("microbatches_committed").GetInt64() >= 2 * 4);
                Assert.True(r.GetProperty("last").GetProperty("step").GetInt64() >= 2);
            }

            // More workers than micro-batches: the run grain's ArgumentException, named.
            (code, stdout, stderr) = await RunAsync("scale", spec.RunId, "--workers", "5", "--cluster", connection);
            Assert.True(code == 2, stderr);
            Assert.Contains("workers: 5: must be between 1 and batch / micro_batch = 4", stderr);
            Assert.Equal("", stdout);

            var unknown = "no-such-run-" + Guid.NewGuid().ToString("N")[..6];
            foreach (var command in new[] { new[] { "scale", unknown, "--workers", "2" }, ["status", unknown] })
            {
                (code, stdout, stderr) = await RunAsync([.. command, "--cluster", connection]);
                Assert.True(code == 2, $"{command[0]}: exit {code}: {stderr}");
                Assert.Contains($"run '{unknown}' is unknown to this cluster", stderr);
                Assert.Equal("", stdout);
            }

            await client.StopAsync(spec.RunId);
            RunStatus end;
            while (!(end = await client.GetStatusAsync(spec.RunId)).IsFinished) await Task.Delay(100);
            Assert.True(end.State == RunState.Stopped, end.Error);
            (code, stdout, stderr) = await RunAsync("scale", spec.RunId, "--workers", "1", "--cluster", connection);
            Assert.True(code == 2, stderr);
            Assert.Contains($"run '{spec.RunId}' is stopped: only a running run scales", stderr);
            (code, stdout, stderr) = await RunAsync("status", spec.RunId, "--cluster", connection);
            Assert.True(code == 0, stderr);
            using (var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]))
            {
                Assert.Equal("stopped", json.RootElement.GetProperty("state").GetString());
                Assert.Equal(2, json.RootElement.GetProperty("result").GetProperty("workers_max").GetInt32());
            }
        }
        finally
        {
            await silo.StopAsync(TimeSpan.FromSeconds(20));
        }
    }
}
