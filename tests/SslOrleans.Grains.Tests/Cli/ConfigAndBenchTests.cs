using System.Text.Json;
using SslOrleans.Cli;
using SslOrleans.Cli.Commands;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Methods;

namespace SslOrleans.Grains.Tests.Cli;

[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class ConfigAndBenchTests
{
    /// <summary>The repository root, found upwards from the test binaries.</summary>
    private static string Root()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SslOrleans.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("SslOrleans.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Every_method_has_a_config_that_loads_to_its_recipe()
    {
        foreach (var method in MethodRegistry.Names)
        {
            var path = Path.Combine(Root(), "configs", $"{method}-fashion-mnist.yaml");
            Assert.True(File.Exists(path), $"{path} is missing");
            var spec = SpecLoader.Load(["--config", path]);
            Assert.Equal(method, spec.Method);
            var recipe = MethodRegistry.Recipe(method);
            Assert.Equal((recipe.Optimizer, recipe.Lr, recipe.WeightDecay), (spec.Optimizer, spec.Lr!.Value, spec.WeightDecay!.Value));
            Assert.Equal(15, spec.Minutes);
            // Flags win, and a budget flag replaces the file's budget.
            var overridden = SpecLoader.Load(["--config", path, "--steps", "7", "--lr", "0.05"]);
            Assert.Equal((7L, (double?)null, 0.05), (overridden.Steps!.Value, overridden.Minutes, overridden.Lr!.Value));
        }
    }

    [Fact]
    public void Every_imagefolder_config_loads_with_its_data_and_names_data_without_it()
    {
        foreach (var method in new[] { "byol", "simclr", "barlow", "rotnet", "mae" })
        {
            var path = Path.Combine(Root(), "configs", $"{method}-imagefolder.yaml");
            var spec = SpecLoader.Load(["--config", path, "--data", "/data/pets"]);
            Assert.Equal((method, "imagefolder", 64, 3, "fail"), (spec.Method, spec.Dataset, spec.ImageSize, spec.Channels, spec.BadSamples));
            Assert.Contains("data: null is invalid", Assert.Throws<SpecException>(() => SpecLoader.Load(["--config", path])).Message);
        }
    }

    [Fact]
    public void A_bad_key_or_value_in_a_config_is_named()
    {
        var path = Path.Combine(Path.GetTempPath(), $"sslo-config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "method: simclr\ntemprature: 0.1\n");
        Assert.Contains("'temprature'", Assert.Throws<SpecException>(() => SpecLoader.Load(["--config", path])).Message);
        File.WriteAllText(path, "method: simclr\ntemperature: -1\n");
        Assert.Contains("temperature: -1", Assert.Throws<SpecException>(() => SpecLoader.Load(["--config", path])).Message);
        File.WriteAllText(path, "method: moco\n");
        Assert.Contains("method: moco", Assert.Throws<SpecException>(() => SpecLoader.Load(["--config", path])).Message);
    }

    [Fact]
    public async Task Bench_learn_writes_one_row_per_method_between_the_markers_and_keeps_other_methods_rows()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sslo-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var doc = Path.Combine(dir, "benchmarks.md");
        File.WriteAllText(doc, $"# Benchmarks\n\nbefore\n\n{BenchLearnCommand.Begin}\nold table\n{BenchLearnCommand.End}\n\nafter\n");
        async Task<JsonElement> Bench(string methods, string width = "4")
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int code = await Sslo.MainAsync(["bench", "learn", "--methods", methods, "--minutes", "0.05", "--width", width, "--batch", "32", "--workers", "1",
                "--tokenizer-minutes", "0.02", "--configs", Path.Combine(Root(), "configs"), "--out", dir, "--doc", doc,
                "--train-samples", "1000", "--test-samples", "200"], stdout, stderr);
            Assert.True(code == 0, stderr.ToString());
            using var json = JsonDocument.Parse(stdout.ToString().TrimEnd().Split('\n')[^1]);
            return json.RootElement.Clone();
        }

        var first = await Bench("byol,simclr");
        var text = File.ReadAllText(doc);
        Assert.DoesNotContain("old table", text);
        Assert.StartsWith("# Benchmarks\n\nbefore\n\n" + BenchLearnCommand.Begin, text);
        Assert.EndsWith(BenchLearnCommand.End + "\n\nafter\n", text);
        Assert.Contains("| byol | resnet18 |", text);
        Assert.Contains("| simclr | resnet18 |", text);
        Assert.Contains("| *initial backbone* | resnet18 |", text);
        Assert.Equal(2, first.GetProperty("methods").GetArrayLength());
        // Each row holds the scores `sslo eval` gives that method's checkpoint (and the initial backbone's), under their own keys.
        async Task<JsonElement> Eval(string method, params string[] more)
        {
            var run = Directory.GetDirectories(dir, method + "-*").Single(d => !d.EndsWith("-tokenizer", StringComparison.Ordinal));
            var (code, stdout, stderr) = await SsloInProcess.RunAsync(["eval", "--checkpoint", run, "--train-samples", "1000", "--test-samples", "200", .. more]);
            Assert.True(code == 0, stderr);
            using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
            return json.RootElement.Clone();
        }
        void AssertRow(JsonElement reported, JsonElement eval, string rowStart)
        {
            foreach (var key in new[] { "knn_top1_k200", "knn_top1_k20", "linear_top1" })
                Assert.Equal(eval.GetProperty(key).GetDouble(), reported.GetProperty(key).GetDouble());
            var scores = $"| {eval.GetProperty("knn_top1_k200").GetDouble():F2} | {eval.GetProperty("knn_top1_k20").GetDouble():F2} | {eval.GetProperty("linear_top1").GetDouble():F2} |";
            Assert.Contains(text.Split('\n'), line => line.StartsWith(rowStart, StringComparison.Ordinal) && line.Contains(scores, StringComparison.Ordinal));
        }
        foreach (var m in first.GetProperty("methods").EnumerateArray())
            AssertRow(m, await Eval(m.GetProperty("method").GetString()!), $"| {m.GetProperty("method").GetString()} | resnet18 |");
        AssertRow(first.GetProperty("init").EnumerateArray().Single(), await Eval("byol", "--init"), "| *initial backbone* | resnet18 |");

        // The generative methods add their rows (BEiT after its tokenizer) and the ViT's initial row; the others stay.
        var second = await Bench("mae,beit");
        text = File.ReadAllText(doc);
        foreach (var row in new[] { "| byol | resnet18 |", "| simclr | resnet18 |", "| mae | vit-tiny |", "| beit | vit-tiny |",
                     "| *initial backbone* | resnet18 |", "| *initial backbone* | vit-tiny |", "beit: tokenizer: " })
            Assert.Contains(row, text);
        Assert.Equal(2, second.GetProperty("methods").GetArrayLength());

        // Rows measured with other settings are not mixed into one table.
        await Bench("rotnet", width: "2");
        text = File.ReadAllText(doc);
        Assert.Contains("| rotnet | resnet18 |", text);
        Assert.DoesNotContain("| byol |", text);
        Assert.DoesNotContain("| mae |", text);
        Assert.DoesNotContain("| *initial backbone* | vit-tiny |", text);
    }
}
