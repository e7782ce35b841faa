using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;
using SslOrleans.Core.Data;
using SslOrleans.Core.Evaluation;
using SslOrleans.Core.Export;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Tokenizers;
using SslOrleans.Grains.Compute;
using SslOrleans.Grains.Data;
using SslOrleans.Grains.Shards;
using SslOrleans.Grains.Checkpoints;
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

    /// <summary>The first <paramref name="count"/> training images (and 100 test images) as uncompressed idx files.</summary>
    public static string SubsetFolder(int count)
    {
        var folder = SslOrleans.Grains.Tests.Cluster.ClusterTestSupport.TempDir("sslo-subset");
        void Write(string name, ImageDatasetPart part)
        {
            using var f = File.Create(Path.Combine(folder, name));
            f.Write([0, 0, 8, (byte)part.Dims.Length]);
            foreach (var d in part.Dims) f.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
            f.Write(part.Bytes);
        }
        foreach (var (prefix, data, n) in new[] { ("train", Core.Data.FashionMnist.LoadTrainCached(null), count), ("t10k", Core.Data.FashionMnist.LoadTestCached(null), 100) })
        {
            int pixels = data.Height * data.Width;
            Write($"{prefix}-images-idx3-ubyte", new ImageDatasetPart([n, data.Height, data.Width], data.Pixels.AsSpan(0, n * pixels).ToArray()));
            Write($"{prefix}-labels-idx1-ubyte", new ImageDatasetPart([n], data.Labels.AsSpan(0, n).ToArray()));
        }
        return folder;
    }

    private sealed record ImageDatasetPart(int[] Dims, byte[] Bytes);

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
        await foreach (var u in client.WatchAsync(spec.RunId, cancellation: cancel.Token)) last = u.Status;
        return last!;
    }

    /// <summary>The flat online parameters of a run's latest checkpoint, shard after shard.</summary>
    public static async Task<float[]> LatestParametersAsync(string runFolder, SslOrleans.Storage.StorageOptions? storage = null)
    {
        var store = new CheckpointStoreFactory(storage ?? new SslOrleans.Storage.StorageOptions()).Open(runFolder);
        var manifest = await store.ReadLatestManifestAsync() ?? throw new InvalidOperationException($"no checkpoint in {runFolder}");
        var parts = new List<float>();
        for (int k = 0; k < manifest.Shards.Length; k++)
        {
            await using var stream = await store.OpenReadAsync(manifest.Step, CheckpointNames.Shard(k));
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer);
            parts.AddRange(ShardFile.Parse(buffer.ToArray(), $"{runFolder} step {manifest.Step} shard {k}").Parameters);
        }
        return parts.ToArray();
    }

    /// <summary>The manifest name of the latest checkpoint of a run and every problem its files have (empty: it verifies).</summary>
    public static async Task<(string Manifest, IReadOnlyList<string> Problems)> VerifyLatestAsync(string location, SslOrleans.Storage.StorageOptions? storage = null)
    {
        var source = SslOrleans.Checkpoints.CheckpointSource.Open(location, storage ?? new SslOrleans.Storage.StorageOptions());
        var checkpoint = await source.OpenAsync();
        return (checkpoint.Name, await source.Catalog.VerifyAsync(checkpoint.Summary));
    }

    /// <summary>
    /// kNN top-1 (the spec's k and temperature, every train and test sample) of the backbone exported in
    /// <paramref name="checkpointFolder"/>, or with null of the initial backbone the spec's seed builds, computed here
    /// from Core alone the way a run computes it: eval-mode features of blocks of 10 000 samples (a run's blocks at the
    /// default chunk_bytes), in batches of 500, on two threads with the spec's intra-op thread count like two workers.
    /// A run's recorded score must equal it to the bit, on any processor.
    /// </summary>
    public static async Task<double> KnnTop1Async(RunSpec spec, string? checkpointFolder)
    {
        const int Block = 10_000, Threads = 2;
        var train = DatasetCatalog.Train(spec.Dataset, spec.Data);
        var test = DatasetCatalog.Test(spec.Dataset, spec.Data);
        var blocks = new[] { train, test }
            .SelectMany(d => Enumerable.Range(0, (d.Count + Block - 1) / Block).Select(b => (Data: d, Start: b * Block, Count: Math.Min(Block, d.Count - b * Block))))
            .ToArray();
        var features = new float[blocks.Length][];
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(async t =>
        {
            using var compute = new ComputeThread($"test-knn-{t}");
            await compute.RunAsync(() =>
            {
                TorchSharp.torch.set_num_threads(spec.ThreadsPerWorker);
                using var backbone = MethodRegistry.CreateBackbone(RunSpecOptions.Method(spec, train));
                if (checkpointFolder is not null) StateDict.LoadFile(backbone, Path.Combine(checkpointFolder, CheckpointNames.Backbone), null, "the test");
                for (int b = t; b < blocks.Length; b += Threads)
                    features[b] = BackboneEvaluation.Features(backbone, blocks[b].Data, blocks[b].Count, first: blocks[b].Start);
            });
        }));
        float[] Of(IImageSource data) => blocks.Select((b, i) => (b.Data, i)).Where(x => x.Data == data).SelectMany(x => features[x.i]).ToArray();
        float[] trainFeatures = Of(train), testFeatures = Of(test);
        return FeatureKnn.Top1(trainFeatures, train.Labels, testFeatures, test.Labels, trainFeatures.Length / train.Count,
            train.Classes, spec.KnnK, spec.KnnTemperature);
    }

    public static double RelativeDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < a.Length; i++) { diff += Math.Pow(a[i] - b[i], 2); norm += Math.Pow(a[i], 2); }
        return Math.Sqrt(diff / norm);
    }
}
