using System.Text.Json;
using SslOrleans.Cli;
using SslOrleans.Core.Evaluation;
using SslOrleans.Core.Export;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Training;
using SslOrleans.Grains.Compute;
using SslOrleans.Grains.Data;
using SslOrleans.Grains.Checkpoints;
using SslOrleans.Storage.Checkpoints;
using TorchSharp;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>sslo eval on a tiny checkpoint made by sslo pretrain.</summary>
public sealed class EvalCliTests
{
    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => SsloInProcess.RunAsync(args);

    private static async Task<string> PretrainAsync()
    {
        var outDir = Path.Combine(Path.GetTempPath(), "sslo-eval", Guid.NewGuid().ToString("N"));
        var (code, _, stderr) = await RunAsync("pretrain", "--width", "4", "--hidden-dim", "16", "--workers", "1",
            "--batch", "32", "--micro-batch", "16", "--steps", "2", "--seed", "3", "--knn-temperature", "0.2", "--out", outDir, "--no-eval");
        Assert.True(code == 0, stderr);
        return outDir;
    }

    private static JsonElement LastJson(string stdout)
    {
        using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
        return json.RootElement.Clone();
    }

    /// <summary>
    /// Core's evaluation of the latest checkpoint of <paramref name="run"/> (its backbone and online probe, or with
    /// <paramref name="init"/> the initial backbone of its seed) with the run's kNN temperature, on a thread with every
    /// core like `sslo eval`.
    /// </summary>
    private static async Task<BackboneEvaluationResult> CoreEvaluationAsync(string run, bool init, int trainSamples, int testSamples)
    {
        var manifest = (await new LocalFolderCheckpointStore(run).ReadLatestManifestAsync())!;
        var folder = Path.Combine(run, CheckpointNames.Folder(manifest.Step));
        using var compute = new ComputeThread("test-eval");
        return await compute.RunAsync(() =>
        {
            torch.set_num_threads(Environment.ProcessorCount);
            var train = DatasetCatalog.Train(manifest.Spec.Dataset, manifest.Spec.Data);
            var test = DatasetCatalog.Test(manifest.Spec.Dataset, manifest.Spec.Data);
            using var backbone = MethodRegistry.CreateBackbone(RunSpecOptions.Method(manifest.Spec, train));
            using var probe = init ? null : new OnlineProbe(backbone.FeatureDim, train.Classes);
            if (probe is not null)
            {
                StateDict.LoadFile(backbone, Path.Combine(folder, CheckpointNames.Backbone), null, "the test");
                StateDict.LoadFile(probe, Path.Combine(folder, CheckpointNames.OnlineProbe), null, "the test");
                probe.eval();
            }
            return BackboneEvaluation.Run(backbone, train, test, trainSamples, testSamples, manifest.Spec.KnnTemperature, onlineProbe: probe);
        });
    }

    private static void AssertScores(BackboneEvaluationResult expected, JsonElement actual)
    {
        Assert.Equal(expected.KnnTop1K20, actual.GetProperty("knn_top1_k20").GetDouble());
        Assert.Equal(expected.KnnTop1K200, actual.GetProperty("knn_top1_k200").GetDouble());
        Assert.Equal(expected.Linear.TestTop1, actual.GetProperty("linear_top1").GetDouble());
        Assert.Equal(expected.Linear.TrainTop1, actual.GetProperty("linear_train_top1").GetDouble());
        Assert.Equal(expected.Linear.Iterations, actual.GetProperty("linear_iterations").GetInt32());
        Assert.Equal(expected.Linear.Converged, actual.GetProperty("linear_converged").GetBoolean());
        var online = actual.GetProperty("online_probe_top1");
        Assert.Equal(expected.OnlineProbeTop1, online.ValueKind == JsonValueKind.Null ? null : online.GetDouble());
    }

    [Fact]
    public async Task Eval_reports_knn_and_linear_probe_of_the_trained_and_the_initial_backbone()
    {
        var run = await PretrainAsync();
        var manifestPath = Path.Combine(run, "step-00000002", "manifest.json");
        using var manifest = JsonDocument.Parse(await File.ReadAllBytesAsync(manifestPath));
        double paramL2 = manifest.RootElement.GetProperty("metrics").GetProperty("param_l2").GetDouble();

        var trained = await RunAsync("eval", "--checkpoint", run, "--train-samples", "2000", "--test-samples", "500");
        Assert.True(trained.Code == 0, trained.Err);
        Assert.Contains("linear probe:", trained.Err);
        // Feature extraction says how far it has come, and always its end.
        Assert.Contains("sslo: features: 2500/2500 images (100%), about 0 s left", trained.Err);
        // The backbone's layers were checked against float64 at the command's thread count before anything was scored.
        Assert.Matches(@"numerics self-check: 11 layer ops at \d+ threads", trained.Err);
        var t = LastJson(trained.Out);
        foreach (var key in new[] { "checkpoint", "method", "backbone", "step", "init", "knn_top1_k20", "knn_top1_k200", "linear_top1",
                     "linear_train_top1", "linear_iterations", "linear_converged", "feature_dim", "train_samples", "test_samples", "seconds" })
            Assert.True(t.TryGetProperty(key, out _), $"missing {key} in {t}");
        Assert.Equal(manifestPath, t.GetProperty("checkpoint").GetString());
        Assert.Equal("byol", t.GetProperty("method").GetString());
        Assert.Equal("resnet18", t.GetProperty("backbone").GetString());
        Assert.Equal(2, t.GetProperty("step").GetInt64());
        Assert.False(t.GetProperty("init").GetBoolean());
        Assert.Equal(32, t.GetProperty("feature_dim").GetInt32()); // 8 × width
        Assert.Equal(2000, t.GetProperty("train_samples").GetInt32());
        Assert.Equal(500, t.GetProperty("test_samples").GetInt32());
        // The scores are Core's for the checkpoint's backbone and online probe (the probe trained during pretraining),
        // with the run's kNN temperature, each under its own key: recomputed here, equal to the bit.
        AssertScores(await CoreEvaluationAsync(run, init: false, 2000, 500), t);
        Assert.True(t.GetProperty("linear_converged").GetBoolean(), t.ToString());
        Assert.True(t.GetProperty("seconds").GetDouble() > 0);
        // The loaded weights are the checkpoint's: the norm the run recorded when it exported them.
        Assert.Equal(paramL2, t.GetProperty("param_l2").GetDouble(), 1e-9 * paramL2);

        var initial = await RunAsync("eval", "--checkpoint", Path.Combine(run, "step-00000002"), "--init", "--train-samples", "2000", "--test-samples", "500");
        Assert.True(initial.Code == 0, initial.Err);
        var i = LastJson(initial.Out);
        Assert.True(i.GetProperty("init").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, i.GetProperty("online_probe_top1").ValueKind);
        Assert.Equal(32, i.GetProperty("feature_dim").GetInt32());
        AssertScores(await CoreEvaluationAsync(run, init: true, 2000, 500), i);
        // Fashion-MNIST has 10 balanced classes: even random features beat chance (10 %) clearly.
        foreach (var key in new[] { "knn_top1_k20", "knn_top1_k200", "linear_top1" })
            Assert.InRange(i.GetProperty(key).GetDouble(), 30.0, 100.0);
        // Two LARS steps move the weights: the initial backbone is another one, with other scores.
        Assert.NotEqual(paramL2, i.GetProperty("param_l2").GetDouble(), 1e-6 * paramL2);
        Assert.True(i.GetProperty("linear_top1").GetDouble() != t.GetProperty("linear_top1").GetDouble()
                    || i.GetProperty("knn_top1_k200").GetDouble() != t.GetProperty("knn_top1_k200").GetDouble(), $"{i} vs {t}");

        // The same seed rebuilds the same initial backbone: --init is deterministic.
        var again = LastJson((await RunAsync("eval", "--checkpoint", manifestPath, "--init", "--train-samples", "2000", "--test-samples", "500")).Out);
        Assert.Equal(i.GetProperty("param_l2").GetDouble(), again.GetProperty("param_l2").GetDouble());

        // A missing dataset and a sample limit beyond the split are named.
        var noData = Directory.CreateTempSubdirectory("sslo-eval-nodata").FullName;
        var (code, _, err) = await RunAsync("eval", "--checkpoint", run, "--data", noData);
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(noData, "train-images-idx3-ubyte"), err);
        (code, _, err) = await RunAsync("eval", "--checkpoint", run, "--test-samples", "10001");
        Assert.Equal(2, code);
        Assert.Contains("--test-samples 10001", err);

        // A corrupted backbone file is named, and nothing is printed on stdout.
        var backbone = Path.Combine(run, "step-00000002", "backbone.safetensors");
        var bytes = await File.ReadAllBytesAsync(backbone);
        bytes[^1] ^= 0xFF;
        await File.WriteAllBytesAsync(backbone, bytes);
        var corrupt = await RunAsync("eval", "--checkpoint", run, "--train-samples", "100", "--test-samples", "100");
        Assert.Equal(2, corrupt.Code);
        Assert.Equal("", corrupt.Out);
        Assert.StartsWith("sslo: ", corrupt.Err);
        Assert.Contains(backbone, corrupt.Err);
    }

    [Fact]
    public async Task Bad_input_is_named_with_exit_code_2()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sslo-eval-missing-" + Guid.NewGuid().ToString("N"));
        var (code, stdout, err) = await RunAsync("eval", "--checkpoint", missing);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("sslo: ", err);
        Assert.Contains(missing, err);

        var notManifest = Path.GetTempFileName();
        await File.WriteAllTextAsync(notManifest, "not json");
        (code, _, err) = await RunAsync("eval", "--checkpoint", notManifest);
        Assert.Equal(2, code);
        Assert.Contains(notManifest, err);

        (code, _, err) = await RunAsync("eval", "--checkpoint", missing, "--train-sampels", "10");
        Assert.Equal(2, code);
        Assert.Contains("unknown flag '--train-sampels'", err);

        (code, _, err) = await RunAsync("eval", "--checkpoint", missing, "--test-samples", "-5");
        Assert.Equal(2, code);
        Assert.Contains("--test-samples wants a positive integer", err);

        (code, _, err) = await RunAsync("eval");
        Assert.Equal(2, code);
        Assert.Contains("--checkpoint is required", err);
    }
}
