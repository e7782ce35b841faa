using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Core.Evaluation;
using SslOrleans.Grains.Compute;

namespace SslOrleans.Grains.Runs;

/// <summary>kNN top-1 of a run's backbone: features extracted by all workers in blocks, classified on a pool thread.</summary>
public static class KnnEvaluation
{
    private const int MaxBlock = 10_000;

    public static async Task<double> Top1Async(RunSpec spec, IWorkerGrain[] workers, WorkerReady info, bool initial)
    {
        // A block of features is one message: it stays within chunk_bytes, which fits every silo's message limit.
        int block = Math.Clamp(spec.ChunkBytes / (sizeof(float) * Math.Max(1, info.FeatureDim) + 1), 1, MaxBlock);
        var train = await BlocksAsync(workers, FeatureSplit.Train, info.TrainCount, initial, block);
        var test = await BlocksAsync(workers, FeatureSplit.Test, info.TestCount, initial, block);
        return await Task.Run(() =>
        {
            var (trainFeatures, trainLabels, dim) = Assemble(train, info.TrainCount);
            var (testFeatures, testLabels, _) = Assemble(test, info.TestCount);
            return FeatureKnn.Top1(trainFeatures, trainLabels, testFeatures, testLabels, dim, info.Classes, spec.KnnK, spec.KnnTemperature);
        });
    }

    /// <summary>Worker w takes blocks w, w + W, …, one after another on its own compute thread.</summary>
    private static async Task<FeatureBlock[]> BlocksAsync(IWorkerGrain[] workers, FeatureSplit split, int count, bool initial, int block)
    {
        var requests = Enumerable.Range(0, (count + block - 1) / block)
            .Select(b => new FeatureRequest(split, b * block, Math.Min(block, count - b * block), initial)).ToArray();
        var perWorker = await Task.WhenAll(workers.Select(async (w, i) =>
        {
            var mine = new List<FeatureBlock>();
            for (int b = i; b < requests.Length; b += workers.Length) mine.Add(await w.ExtractFeaturesAsync(requests[b]));
            return mine;
        }));
        return perWorker.SelectMany(x => x).ToArray();
    }

    private static (float[] Features, byte[] Labels, int Dim) Assemble(FeatureBlock[] blocks, int count)
    {
        int dim = blocks[0].Dim;
        var features = new float[(long)count * dim];
        var labels = new byte[count];
        foreach (var b in blocks)
        {
            TensorBytes.As<float>(b.Data).CopyTo(features.AsSpan(b.Start * dim, b.Count * dim));
            b.Labels.CopyTo(labels, b.Start);
        }
        return (features, labels, dim);
    }
}
