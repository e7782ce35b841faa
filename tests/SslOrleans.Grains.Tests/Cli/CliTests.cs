using System.Text.Json;
using SslOrleans.Cli;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>The sslo command line, end to end on its own embedded cluster.</summary>
public sealed class CliTests
{
    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => SsloInProcess.RunAsync(args);

    [Fact]
    public async Task Pretrain_prints_progress_and_ends_with_one_json_line()
    {
        var outDir = Path.Combine(Path.GetTempPath(), "sslo-cli", Guid.NewGuid().ToString("N"));
        var (code, stdout, stderr) = await RunAsync("pretrain", "--width", "4", "--hidden-dim", "16", "--workers", "2",
            "--batch", "32", "--micro-batch", "8", "--steps", "3", "--seed", "1", "--out", outDir, "--no-eval");
        Assert.True(code == 0, stderr);
        Assert.Contains("step 3/3", stderr);
        var last = stdout.TrimEnd().Split('\n')[^1];
        using var json = JsonDocument.Parse(last);
        var r = json.RootElement;
        foreach (var key in new[] { "method", "steps", "epochs", "images_per_sec", "loss_first", "loss_last", "knn_top1", "knn_top1_init", "param_l2", "checkpoint" })
            Assert.True(r.TryGetProperty(key, out _), $"missing {key} in {last}");
        Assert.Equal("byol", r.GetProperty("method").GetString());
        Assert.Equal(3, r.GetProperty("steps").GetInt64());
        Assert.True(r.GetProperty("param_l2").GetDouble() > 0);
        Assert.StartsWith(outDir, r.GetProperty("checkpoint").GetString());

        var verify = await RunAsync("checkpoint", "verify", outDir);
        Assert.Equal(0, verify.Code);
        Assert.StartsWith("ok ", verify.Out);
    }

    [Fact]
    public async Task Bad_flags_and_config_keys_are_named()
    {
        var (code, _, err) = await RunAsync("pretrain", "--batch", "100", "--micro-batch", "32");
        Assert.Equal(2, code);
        Assert.Contains("batch: 100 is invalid", err);

        (code, _, err) = await RunAsync("pretrain", "--widht", "4");
        Assert.Equal(2, code);
        Assert.Contains("unknown flag '--widht'", err);

        (code, _, err) = await RunAsync("pretrain", "--width", "four");
        Assert.Equal(2, code);
        Assert.Contains("'width' wants an integer", err);

        var config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, "method: byol\nmicro_batch: 16\nlearning_rate: 3\n");
        (code, _, err) = await RunAsync("pretrain", "--config", config);
        Assert.Equal(2, code);
        Assert.Contains("unknown key 'learning_rate'", err);
        Assert.Contains(config, err);
    }

    [Fact]
    public async Task Missing_data_is_named_before_anything_starts()
    {
        var dir = Directory.CreateTempSubdirectory("sslo-nodata").FullName;
        var (code, stdout, err) = await RunAsync("pretrain", "--data", dir, "--steps", "1", "--out", Path.Combine(dir, "run"));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(Path.Combine(dir, "train-images-idx3-ubyte"), err);
        Assert.Contains("dataset-fashion-mnist", err);
        Assert.Contains("https://github.com/zalandoresearch/fashion-mnist", err);
        Assert.False(Directory.Exists(Path.Combine(dir, "run")));
    }

    [Fact]
    public async Task A_yaml_config_is_read_and_flags_override_it()
    {
        var config = Path.GetTempFileName();
        await File.WriteAllTextAsync(config, "width: 8\nbatch: 64\nmicro_batch: 16\nsteps: 10\n");
        var spec = SslOrleans.Cli.Specs.SpecLoader.Load(["--config", config, "--batch", "128"]);
        Assert.Equal(8, spec.Width);
        Assert.Equal(128, spec.Batch);
        Assert.Equal(16, spec.MicroBatch);
        Assert.Equal(10, spec.Steps);
    }

    [Fact]
    public async Task Beit_without_a_usable_tokenizer_says_what_is_wrong_before_anything_starts()
    {
        var dir = Directory.CreateTempSubdirectory("sslo-notok").FullName;
        var (code, stdout, err) = await RunAsync("pretrain", "--method", "beit", "--steps", "1", "--out", Path.Combine(dir, "run"));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("tokenizer", err);
        Assert.Contains("sslo tokenizer train", err);

        var missing = Path.Combine(dir, "no-such-tokenizer");
        (code, _, err) = await RunAsync("pretrain", "--method", "beit", "--tokenizer", missing, "--steps", "1", "--out", Path.Combine(dir, "run"));
        Assert.Equal(2, code);
        Assert.Contains(missing, err);
        Assert.Contains("sslo tokenizer train", err);

        // A tokenizer whose weights no longer match their sha256 is refused too, naming the file.
        var corrupt = Path.Combine(dir, "corrupt-tokenizer");
        Directory.CreateDirectory(corrupt);
        foreach (var file in Directory.GetFiles(Runs.RunHarness.TinyTokenizer.Value)) File.Copy(file, Path.Combine(corrupt, Path.GetFileName(file)));
        var weights = Path.Combine(corrupt, Core.Tokenizers.TokenizerCheckpoint.WeightsFile);
        var bytes = await File.ReadAllBytesAsync(weights);
        bytes[^1] ^= 0xFF;
        await File.WriteAllBytesAsync(weights, bytes);
        (code, _, err) = await RunAsync("pretrain", "--method", "beit", "--tokenizer", corrupt, "--patch-size", "7", "--steps", "1", "--out", Path.Combine(dir, "run"));
        Assert.Equal(2, code);
        Assert.Contains(weights, err);
        Assert.Contains("sha256", err);

        (code, _, err) = await RunAsync("pretrain", "--method", "mae", "--tokenizer", missing, "--steps", "1", "--out", Path.Combine(dir, "run"));
        Assert.Equal(2, code);
        Assert.Contains("tokenizer: method 'mae' uses no tokenizer", err);
        Assert.False(Directory.Exists(Path.Combine(dir, "run")));
    }
}
