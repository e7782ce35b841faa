using System.Text.Json;
using SslOrleans.Grains.Tests.Cli;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>`sslo bench exchange` on real silo processes (the silo host published by build/test.sh).</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class BenchExchangeTests
{
    private static readonly string Silo = Path.Combine(ClusterTestSupport.RepoRoot, "artifacts", "silo", "SslOrleans.Silo.dll");

    [Fact]
    public async Task A_small_exchange_across_two_silo_processes_reports_every_phase_and_its_baselines()
    {
        var (code, stdout, stderr) = await SsloInProcess.RunAsync("bench", "exchange", "--params", "300000", "--workers", "2", "--silos", "2",
            "--rounds", "2", "--chunk-bytes", "262144", "--silo", Silo);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var r = json.RootElement;
        Assert.Equal(2, r.GetProperty("worker_silos").GetInt32());
        Assert.Equal(2L * 300_000 * 8, r.GetProperty("push_bytes").GetInt64()); // float64 gradients
        Assert.Equal(2L * 300_000 * 4, r.GetProperty("pull_bytes").GetInt64()); // float32 parameters
        foreach (var key in new[] { "push_ms", "aggregate_ms", "pull_ms", "memcpy_ms", "tcp_ms" })
            Assert.True(r.GetProperty(key).GetDouble() > 0, key);
        Assert.Equal(r.GetProperty("exchange_ms").GetDouble() / r.GetProperty("tcp_ms").GetDouble(), r.GetProperty("exchange_over_tcp").GetDouble(), 1e-9);
        // gloo's allreduce of the same tensor (float32, 300 000 elements) between 2 processes, by bench/allreduce.py.
        double gloo = r.GetProperty("gloo_ms").GetDouble();
        Assert.True(gloo > 0, "gloo_ms");
        Assert.Equal(1, r.GetProperty("gloo_threads").GetInt32());
        Assert.Equal(300_000 * 4 / (gloo / 1000) / 1e9, r.GetProperty("gloo_gbps").GetDouble(), 1e-9);
        Assert.Equal(r.GetProperty("exchange_ms").GetDouble() / gloo, r.GetProperty("exchange_over_gloo").GetDouble(), 1e-9);
        Assert.Contains("gloo allreduce of 300,000 float32 between 2 processes", stderr);
        Assert.Contains("exchange / gloo = ", stderr);
        Assert.Contains("2 silo processes up", stderr);
    }

    [Fact]
    public async Task Gloo_false_leaves_the_gloo_fields_empty()
    {
        var (code, stdout, stderr) = await SsloInProcess.RunAsync("bench", "exchange", "--params", "100000", "--workers", "1", "--silos", "1",
            "--rounds", "1", "--chunk-bytes", "262144", "--silo", Silo, "--gloo", "false", "--python", "/nonexistent/python3");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        foreach (var key in new[] { "gloo_ms", "gloo_gbps", "gloo_threads", "exchange_over_gloo" })
            Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty(key).ValueKind);
        Assert.DoesNotContain("gloo", stderr);
    }

    [Fact]
    public async Task Tls_runs_the_exchange_on_in_process_silos_over_the_authenticated_data_plane()
    {
        var (code, stdout, stderr) = await SsloInProcess.RunAsync("bench", "exchange", "--params", "100000", "--workers", "2", "--silos", "2",
            "--rounds", "1", "--chunk-bytes", "262144", "--gloo", "false", "--in-process", "--tls");
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        var r = json.RootElement;
        Assert.True(r.GetProperty("tls").GetBoolean());
        Assert.True(r.GetProperty("in_process").GetBoolean());
        Assert.True(r.GetProperty("data_plane").GetBoolean());
        Assert.Equal(2, r.GetProperty("worker_silos").GetInt32());
        Assert.True(r.GetProperty("plane_bytes_received").GetInt64() > 0, "no chunk crossed between silos over the plane");
        Assert.Equal(2L * 100_000 * 8 + 2L * 100_000 * 4, r.GetProperty("bytes").GetInt64());
        Assert.Contains("2 in-process silos up, Orleans and the data plane over mutual TLS", stderr);
        Assert.Contains("over the tensor data plane (mutual TLS)", stderr);
    }

    [Theory]
    [InlineData("--tls", "true", "--tls needs --in-process")]
    [InlineData("--gradient-dtype", "float16", "--gradient-dtype wants one of float64, float32, bfloat16")]
    [InlineData("--workers", "0", "--workers wants a positive integer")]
    [InlineData("--silo", "/nonexistent/SslOrleans.Silo.dll", "silo: no silo host at /nonexistent/SslOrleans.Silo.dll")]
    [InlineData("--python", "/nonexistent/python3", "--python: no Python at /nonexistent/python3")]
    [InlineData("--gloo", "maybe", "--gloo")]
    public async Task Bad_flags_are_named_before_any_process_starts(string flag, string value, string message)
    {
        var (code, _, stderr) = await SsloInProcess.RunAsync("bench", "exchange", "--params", "1000", flag, value);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
    }
}
