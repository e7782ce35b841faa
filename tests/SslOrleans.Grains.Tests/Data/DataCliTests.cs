using System.Text.Json;
using SslOrleans.Grains.Tests.Cli;

namespace SslOrleans.Grains.Tests.Data;

/// <summary>
/// The scenario through the command line, at test scale: an RGB image folder (JPEG and PNG, train/ and test/)
/// packed into tar shards, pretrained on with its kNN on the test split, the checkpoint evaluated; a folder with one
/// corrupt JPEG refused before training with a message naming it, or trained on without it under bad_samples: skip;
/// `sslo data inspect` naming it too.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class DataCliTests
{
    private static JsonElement LastJson(string stdout)
    {
        using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
        return json.RootElement.Clone();
    }

    private static readonly string[] TinyRun =
        ["--width", "4", "--hidden-dim", "16", "--projection-dim", "8", "--workers", "1", "--batch", "24", "--micro-batch", "12", "--seed", "2"];

    [Fact]
    public async Task A_packed_folder_trains_simclr_at_32_px_with_its_knn_and_the_checkpoint_evaluates()
    {
        var folder = ColourImageFolder.Write(trainPerClass: 16, testPerClass: 6);
        var shards = Path.Combine(Path.GetTempPath(), "sslo-shards-" + Guid.NewGuid().ToString("N"));
        var run = Path.Combine(Path.GetTempPath(), "sslo-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var (code, stdout, stderr) = await SsloInProcess.RunAsync("data", "pack", folder, "--to", shards, "--shard-size", "1MiB");
            Assert.True(code == 0, stderr);
            var packed = LastJson(stdout);
            Assert.Equal(3, packed.GetProperty("classes").GetInt32());
            Assert.Equal(48, packed.GetProperty("splits").GetProperty("train").GetProperty("samples").GetInt32());
            Assert.Equal(18, packed.GetProperty("splits").GetProperty("test").GetProperty("samples").GetInt32());
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(shards, "train"), "shard-*.tar"));

            (code, stdout, stderr) = await SsloInProcess.RunAsync(
                ["pretrain", "--dataset", "tar", "--data", shards, "--method", "simclr", "--image-size", "32", "--steps", "3", "--knn-k", "5", "--out", run, .. TinyRun]);
            Assert.True(code == 0, stderr);
            var result = LastJson(stdout);
            Assert.Equal("completed", result.GetProperty("state").GetString());
            // The built-in kNN ran on the shards' test split (18 images, three classes).
            Assert.True(double.IsFinite(result.GetProperty("knn_top1").GetDouble()), stdout);
            Assert.Contains("checking tar:", stderr);

            (code, stdout, stderr) = await SsloInProcess.RunAsync("eval", "--checkpoint", run);
            Assert.True(code == 0, stderr);
            var eval = LastJson(stdout);
            Assert.Equal((48, 18), (eval.GetProperty("train_samples").GetInt32(), eval.GetProperty("test_samples").GetInt32()));
            Assert.InRange(eval.GetProperty("linear_top1").GetDouble(), 0, 100);

            // The same backbone scored on the image folder itself, through --dataset: the same images, so the same kNN.
            (code, stdout, stderr) = await SsloInProcess.RunAsync("eval", "--checkpoint", run, "--dataset", "imagefolder", "--data", folder);
            Assert.True(code == 0, stderr);
            Assert.Equal(eval.GetProperty("knn_top1_k20").GetDouble(), LastJson(stdout).GetProperty("knn_top1_k20").GetDouble());
        }
        finally
        {
            foreach (var d in new[] { folder, shards, run }) if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
        }
    }

    [Fact]
    public async Task A_corrupt_jpeg_is_named_and_refuses_the_run_unless_bad_samples_is_skip()
    {
        var folder = ColourImageFolder.Write(trainPerClass: 8, testPerClass: 4, seed: 7);
        var corrupt = Path.Combine(folder, "train", "green", "0002.jpg");
        var bytes = File.ReadAllBytes(corrupt);
        File.WriteAllBytes(corrupt, bytes.AsSpan(0, bytes.Length / 3).ToArray()); // a truncated JPEG
        var run = Path.Combine(Path.GetTempPath(), "sslo-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var (code, stdout, stderr) = await SsloInProcess.RunAsync(
                ["pretrain", "--dataset", "imagefolder", "--data", folder, "--image-size", "32", "--steps", "2", "--no-eval", "--out", run, .. TinyRun]);
            Assert.True(code == 2, $"exit {code}: {stderr}");
            Assert.Equal("", stdout);
            Assert.Contains(corrupt, stderr);
            Assert.Contains("bad_samples", stderr);
            Assert.False(Directory.Exists(run), "a refused run wrote nothing");

            (code, stdout, stderr) = await SsloInProcess.RunAsync("data", "inspect", folder, "--image-size", "32");
            Assert.Equal(1, code);
            var report = LastJson(stdout);
            Assert.Equal("imagefolder", report.GetProperty("dataset").GetString());
            var train = report.GetProperty("splits")[0];
            Assert.Equal((24, 23), (train.GetProperty("samples").GetInt32(), train.GetProperty("good").GetInt32()));
            Assert.Equal(corrupt, train.GetProperty("bad")[0].GetProperty("sample").GetString());
            Assert.Equal(new[] { "blue", "green", "red" }, train.GetProperty("class_names").EnumerateArray().Select(e => e.GetString()));

            (code, stdout, stderr) = await SsloInProcess.RunAsync(
                ["pretrain", "--dataset", "imagefolder", "--data", folder, "--image-size", "32", "--steps", "2", "--no-eval", "--bad-samples", "skip", "--out", run, .. TinyRun]);
            Assert.True(code == 0, stderr);
            Assert.Equal("completed", LastJson(stdout).GetProperty("state").GetString());
            Assert.Contains($"leaving out 1 samples that do not decode (bad_samples: skip): {corrupt}", stderr);
        }
        finally
        {
            foreach (var d in new[] { folder, run }) if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { "data", "pack" }, "SRC is missing")]
    [InlineData(new[] { "data", "pack", "/nonexistent-sslo-folder", "--to", "/tmp/x" }, "/nonexistent-sslo-folder: no such folder")]
    [InlineData(new[] { "data", "pack", "/tmp", "--to", "/tmp/x", "--shard-size", "lots" }, "--shard-size")]
    [InlineData(new[] { "data", "inspect", "/nonexistent-sslo-folder" }, "/nonexistent-sslo-folder: no such folder")]
    [InlineData(new[] { "data", "inspect", "/tmp", "--dataset", "webp" }, "--dataset 'webp' is unknown")]
    [InlineData(new[] { "pretrain", "--dataset", "imagefolder", "--steps", "1" }, "data: null is invalid")]
    [InlineData(new[] { "pretrain", "--dataset", "tar", "--data", "/nonexistent-sslo-folder", "--steps", "1" }, "/nonexistent-sslo-folder")]
    [InlineData(new[] { "pretrain", "--image-size", "4" }, "image_size: 4 is invalid")]
    [InlineData(new[] { "pretrain", "--bad-samples", "ignore" }, "bad_samples: ignore is invalid")]
    public Task Bad_data_input_is_named(string[] args, string message) => SsloInProcess.AssertBadInputAsync(args, message);
}
