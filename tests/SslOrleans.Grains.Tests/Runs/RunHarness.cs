using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Core.Tokenizers;
using SslOrleans.Grains.Shards;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Tests.Runs;

/// <summary>Runs tiny specs to the end and reads their checkpoints back.</summary>
public static class RunHarness
{
    public static RunSpec Tiny(string name, int workers = 2, long steps = 5) => new()
    {
        RunId = $"{name}-{Guid.NewGuid():N}"[..30],
        Width = 4,
        HiddenDim = 16,
        ProjectionDim = 8,
        Workers = workers,
        ParameterShards = 2,
        DataShards = 3,
        Batch = 32,
        MicroBatch = 8,
        Steps = steps,
        Seed = 5,
        ThreadsPerWorker = 1, // libtorch kernels round differently with other intra-op thread counts
        Evaluate = false,
        Out = Path.Combine(Path.GetTempPath(), "sslo-tests", Guid.NewGuid().ToString("N")),
    };

    /// <summary>The tiny spec for a method: MAE and BEiT on a ViT with 7 × 7 patches (16 per image), BEiT with the shared test tokenizer.</summary>
    public static RunSpec ForMethod(RunSpec spec, string method) => method switch
    {
        "mae" => spec with { Method = method, PatchSize = 7 },
        "beit" => spec with { Method = method, PatchSize = 7, Tokenizer = TinyTokenizer.Value },
        _ => spec with { Method = method },
    };

    /// <summary>A 64-code tokenizer over 7 × 7 patches, trained for a few steps once per test run (through Core,
    /// not the CLI, which would change the process's libtorch thread count under the running tests).</summary>
    public static readonly Lazy<string> TinyTokenizer = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "sslo-tests", "tokenizer-" + Guid.NewGuid().ToString("N"));
        var data = Core.Data.FashionMnist.LoadTrainCached(null);
        var trained = TokenizerTrainer.Train(data, new TokenizerOptions(CodebookSize: 64, PatchSize: 7, CodeDim: 8, HiddenDim: 8),
            new TokenizerTrainingOptions(BatchSize: 32, Steps: 5));
        using var tokenizer = trained.Tokenizer;
        var usage = TokenizerTrainer.Measure(tokenizer, data, 64, data.Mean, data.Std);
        TokenizerCheckpoint.Save(dir, tokenizer, new TokenizerTraining(data.Name, data.Mean, data.Std, 0, trained.Steps, trained.Seconds, trained.ReconMseLast, usage));
        return dir;
    });

    public static async Task<RunStatus> RunToEndAsync(IGrainFactory grains, RunSpec spec, TimeSpan? timeout = null)
    {
        var client = new TrainingClient(grains);
        await client.SubmitAsync(spec);
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
        RunStatus? last = null;
        await foreach (var u in client.WatchAsync(spec.RunId, TimeSpan.FromMilliseconds(100), cancel.Token)) last = u.Status;
        return last!;
    }

    /// <summary>The flat online parameters of a run's latest checkpoint, shard after shard.</summary>
    public static async Task<float[]> LatestParametersAsync(string runFolder)
    {
        var store = new LocalFolderCheckpointStore(runFolder);
        var manifest = await store.ReadLatestAsync() ?? throw new InvalidOperationException($"no checkpoint in {runFolder}");
        var folder = CheckpointNames.Folder(manifest.Step);
        var parts = new List<float>();
        for (int k = 0; k < manifest.Shards.Length; k++)
        {
            var bytes = await store.ReadFileAsync(folder, CheckpointNames.Shard(k));
            parts.AddRange(ShardFile.Parse(bytes, folder).Parameters);
        }
        return parts.ToArray();
    }

    public static double RelativeDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < a.Length; i++) { diff += Math.Pow(a[i] - b[i], 2); norm += Math.Pow(a[i], 2); }
        return Math.Sqrt(diff / norm);
    }
}
