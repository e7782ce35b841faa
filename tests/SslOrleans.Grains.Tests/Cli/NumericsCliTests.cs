using System.Text.Json;
using SslOrleans.Core.Numerics;
using SslOrleans.Grains.Tests.Cluster;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>
/// Issue 11 in real sslo processes: the oneDNN guard reaches libtorch's native environment before the first
/// convolution, and a run's first loss does not depend on the worker's intra-op threads.
/// </summary>
public sealed class NumericsCliTests
{
    private static readonly string Sslo = Path.Combine(AppContext.BaseDirectory, "sslo");

    private static readonly string[] SimClrWidth8 =
        ["pretrain", "--method", "simclr", "--width", "8", "--workers", "1", "--batch", "64", "--no-eval", "--seed", "0"];

    [Fact]
    public async Task The_guard_caps_oneDNN_in_the_process_before_its_first_convolution()
    {
        var outDir = ClusterTestSupport.TempDir("sslo-isa-");
        try
        {
            // ONEDNN_VERBOSE prints the ISA oneDNN dispatches to, once, at its first primitive. Every machine this
            // project runs on has AVX-512, so without the cap the line would name AVX-512.
            var (code, stdout, stderr) = await ClusterTestSupport.RunAsync(Sslo,
                [.. SimClrWidth8, "--threads-per-worker", "1", "--steps", "1", "--out", outDir],
                new Dictionary<string, string> { [OneDnnIsaGuard.ModeVariable] = "on", ["ONEDNN_VERBOSE"] = "1" },
                TimeSpan.FromMinutes(3), unset: [OneDnnIsaGuard.IsaVariable]);
            Assert.True(code == 0, stderr);
            var isa = stdout.Split('\n').First(l => l.StartsWith("onednn_verbose", StringComparison.Ordinal) && l.Contains(",isa:", StringComparison.Ordinal));
            Assert.Contains("AVX2", isa);
            Assert.DoesNotContain("AVX-512", isa);
        }
        finally { Directory.Delete(outDir, recursive: true); }
    }

    [Fact]
    public async Task A_bad_guard_setting_is_refused_naming_the_variable()
    {
        var (code, _, stderr) = await ClusterTestSupport.RunAsync(Sslo, ["checkpoint", "verify", "/nonexistent"],
            new Dictionary<string, string> { [OneDnnIsaGuard.ModeVariable] = "maybe" }, TimeSpan.FromMinutes(1));
        Assert.Equal(2, code);
        Assert.Contains("SSLO_ONEDNN_GUARD=maybe", stderr);
    }

    [Fact]
    public async Task SimClr_at_width_8_trains_finite_losses_at_two_threads_and_starts_where_one_thread_does()
    {
        // The run: on AMD EPYC with AVX-512 it died with a NaN loss at step 3 (2 threads) or 5 (1 thread).
        var two = await PretrainAsync("2", "20");
        var one = await PretrainAsync("1", "1");
        Assert.Equal(20, two.GetProperty("steps").GetInt64());
        // Each worker checked its layer ops at its own thread count before training, and says so in the result.
        var check = Assert.Single(two.GetProperty("numerics").EnumerateArray()).GetString()!;
        Assert.Contains("layer ops at 2 threads", check);
        Assert.Contains("oneDNN ISA", check);
        double first2 = two.GetProperty("loss_first").GetDouble(), last2 = two.GetProperty("loss_last").GetDouble();
        double first1 = one.GetProperty("loss_first").GetDouble();
        Assert.True(double.IsFinite(first2) && double.IsFinite(last2), $"losses {first2} → {last2}");
        // The first loss is computed before any update: it differs between thread counts by float32 rounding alone
        // (~1e-6 relative); 1e-3 is the bound.
        Assert.True(Math.Abs(first2 - first1) <= 1e-3 * Math.Abs(first1), $"loss_first {first2} at 2 threads, {first1} at 1 thread");
    }

    [Fact]
    public async Task Bench_numerics_reports_the_self_check_of_a_backbone_and_names_a_bad_flag()
    {
        var (code, stdout, stderr) = await ClusterTestSupport.RunAsync(Sslo,
            ["bench", "numerics", "--width", "4", "--threads", "2", "--micro-batch", "8", "--rounds", "1"], null, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
        var r = json.RootElement;
        Assert.Equal("resnet18 cifar-stem width=4", r.GetProperty("architecture").GetString());
        Assert.Equal(11, r.GetProperty("ops").GetInt32()); // ResNet-18's distinct (conv, input shape) pairs
        Assert.Equal(2, r.GetProperty("threads").GetInt32());
        Assert.InRange(r.GetProperty("worst_ratio").GetDouble(), double.Epsilon, 1);
        Assert.True(r.GetProperty("seconds_median").GetDouble() > 0);
        Assert.Contains("oneDNN ISA", r.GetProperty("onednn").GetString());

        var bad = await ClusterTestSupport.RunAsync(Sslo, ["bench", "numerics", "--backbone", "resnet34"], null, TimeSpan.FromMinutes(1));
        Assert.Equal(2, bad.Code);
        Assert.Contains("backbone 'resnet34' is unknown", bad.Err);
    }

    private static async Task<JsonElement> PretrainAsync(string threads, string steps)
    {
        var outDir = ClusterTestSupport.TempDir("sslo-threads-");
        try
        {
            var (code, stdout, stderr) = await ClusterTestSupport.RunAsync(Sslo,
                [.. SimClrWidth8, "--threads-per-worker", threads, "--steps", steps, "--out", outDir], null, TimeSpan.FromMinutes(5));
            Assert.True(code == 0, stderr);
            using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
            return json.RootElement.Clone();
        }
        finally { Directory.Delete(outDir, recursive: true); }
    }
}
