using System.Text.Json;
using SslOrleans.Cli.Commands;
using TorchSharp;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>sslo bench step: both sides are there, the ratio is theirs, the breakdown fits in the step, bad input is named.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class BenchStepTests
{
    [Theory]
    [InlineData("byol")]
    [InlineData("simclr")]
    public async Task Bench_step_reports_ours_and_pytorch_side_by_side(string method)
    {
        int threadsBefore = torch.get_num_threads();
        var (code, stdout, stderr) = await SsloInProcess.RunAsync(
            "bench", "step", "--method", method, "--width", "4", "--batch", "16", "--micro-batch", "8", "--steps", "2", "--warmup", "1",
            "--extract", "64", "--extract-batch", "32", "--json");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(threadsBefore, torch.get_num_threads()); // the bench's thread count is not left behind

        var line = Assert.Single(stdout.TrimEnd().Split('\n'));
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        Assert.Equal(method, root.GetProperty("method").GetString());
        Assert.Equal(16, root.GetProperty("batch").GetInt32());
        Assert.Equal(8, root.GetProperty("micro_batch").GetInt32());
        var ours = root.GetProperty("ours");
        var pytorch = root.GetProperty("pytorch");
        Assert.Equal("pytorch", pytorch.GetProperty("side").GetString());
        Assert.Equal(method, pytorch.GetProperty("method").GetString());
        Assert.Equal(16, pytorch.GetProperty("batch").GetInt32());
        Assert.Equal(1, pytorch.GetProperty("threads").GetInt32());
        // The same model on both sides: the same number of trained parameters.
        Assert.Equal(ours.GetProperty("parameters").GetInt64(), pytorch.GetProperty("parameters").GetInt64());

        double mine = ours.GetProperty("images_per_s").GetDouble(), theirs = pytorch.GetProperty("images_per_s").GetDouble();
        Assert.True(mine > 0 && theirs > 0, line);
        Assert.Equal(mine / theirs, root.GetProperty("ours_over_pytorch").GetDouble(), 0.002 * mine / theirs);
        Assert.Equal(16 / ours.GetProperty("step_s").GetDouble(), mine, 0.01 * mine);

        foreach (var side in new[] { ours, pytorch })
        {
            var parts = side.GetProperty("breakdown_s");
            foreach (var part in new[] { "views", "forward", "backward", "optimizer" })
                Assert.True(parts.GetProperty(part).GetDouble() > 0, $"{part} is not positive: {line}");
            // Parts that do not overlap (forward already holds SimCLR's embedding pass).
            double sum = parts.EnumerateObject().Where(p => p.Name != "embed_forward").Sum(p => p.Value.GetDouble());
            double step = side.GetProperty("step_s").GetDouble();
            Assert.True(sum <= step * 1.001 + 1e-4, $"the parts ({sum} s) exceed the step ({step} s): {line}");
            Assert.True(sum >= 0.5 * step, $"the parts ({sum} s) leave most of the step ({step} s) unexplained: {line}");
        }
        if (method == "simclr") Assert.True(ours.GetProperty("breakdown_s").GetProperty("embed_forward").GetDouble() > 0, line);

        double ourExtract = ours.GetProperty("extract").GetProperty("images_per_s").GetDouble();
        double theirExtract = pytorch.GetProperty("extract").GetProperty("images_per_s").GetDouble();
        Assert.Equal(64, pytorch.GetProperty("extract").GetProperty("images").GetInt32());
        Assert.True(ourExtract > 0 && theirExtract > 0, line);
        Assert.Equal(ourExtract / theirExtract, root.GetProperty("extract_ours_over_pytorch").GetDouble(), 0.002 * ourExtract / theirExtract);
    }

    [Fact]
    public async Task Bench_step_alone_has_no_pytorch_side()
    {
        var (code, stdout, stderr) = await SsloInProcess.RunAsync(
            "bench", "step", "--width", "2", "--batch", "8", "--micro-batch", "4", "--steps", "1", "--warmup", "0", "--pytorch", "false");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        var lines = stdout.TrimEnd().Split('\n');
        Assert.True(lines.Length > 1, "without --json a table comes first");
        using var json = JsonDocument.Parse(lines[^1]);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("pytorch").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("ours_over_pytorch").ValueKind);
        Assert.True(json.RootElement.GetProperty("ours").GetProperty("images_per_s").GetDouble() > 0);
    }

    [Fact]
    public async Task Bench_step_refuses_bad_input_naming_the_option()
    {
        await SsloInProcess.AssertBadInputAsync(["bench", "step", "--method", "nonsense"], "--method");
        await SsloInProcess.AssertBadInputAsync(["bench", "step", "--batch", "20", "--micro-batch", "8"], "--batch 20 is not a multiple of --micro-batch 8");
        await SsloInProcess.AssertBadInputAsync(["bench", "step", "--width", "0"], "--width");
        await SsloInProcess.AssertBadInputAsync(["bench", "step", "--width", "2", "--batch", "4", "--micro-batch", "4", "--steps", "1", "--warmup", "0",
            "--script", "/nonexistent/step.py"], "--script /nonexistent/step.py");
        await SsloInProcess.AssertBadInputAsync(["bench", "step", "--width", "2", "--batch", "4", "--micro-batch", "4", "--steps", "1", "--warmup", "0",
            "--python", "/nonexistent/python3"], "--python /nonexistent/python3");
    }

    [Fact]
    public void The_pytorch_script_is_found_above_the_test_binaries()
    {
        var script = BenchStepCommand.Script(null);
        Assert.EndsWith(Path.Combine("bench", "step.py"), script);
        Assert.True(File.Exists(script));
    }
}
