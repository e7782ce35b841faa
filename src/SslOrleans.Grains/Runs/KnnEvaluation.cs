using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Core.Evaluation;
using SslOrleans.Grains.Compute;

namespace SslOrleans.Grains.Runs;

/// <summary>kNN top-1 of a run's backbone: features extracted by all workers in blocks, classified on a pool thread.</summary>
public static class KnnEvaluation
{
    // Small enough that the progress of a 70 000-image extraction moves every few seconds.
    private const int MaxBlock = 2_500;

    /// <param name="progress">Told (images extracted, images to extract) after every block, on the caller's scheduler.</param>
    public static async Task<double> Top1Async(RunSpec spec, IWorkerGrain[] workers, WorkerReady info, bool initial, Action<long, long>? progress = null)
    {
        // A block of features is one message: it stays within chunk_bytes, which fits every silo's message limit.
        int block = Math.Clamp(spec.ChunkBytes / (sizeof(float) * Math.Max(1, info.FeatureDim) + 1), 1, MaxBlock);
        long total = (long)info.TrainCount + info.TestCount, done = 0;
        void Extracted(int images) => progress?.Invoke(done += images, total);
        var train = await BlocksAsync(workers, FeatureSplit.Train, info.TrainCount, initial, block, Extracted);
        var test = await BlocksAsync(workers, FeatureSplit.Test, info.TestCount, initial, block, Extracted);
        return await Task.Run(() =>
        {
            var (trainFeatures, trainLabels, dim) = Assemble(train, info.TrainCount);
            var (testFeatures, testLabels, _) = Assemble(test, info.TestCount);
            return FeatureKnn.Top1(trainFeatures, trainLabels, testFeatures, testLabels, dim, info.Classes, spec.KnnK, spec.KnnTemperature);
        });
    }

    /// <summary>Worker w takes blocks w, w + W, …, one after another on its own compute thread.</summary>
    private static async Task<FeatureBlock[]> BlocksAsync(IWorkerGrain[] workers, FeatureSplit split, int count, bool initial, int block, Action<int> extracted)
    {
        var requests = Enumerable.Range(0, (count + block - 1) / block)
            .Select(b => new FeatureRequest(split, b * block, Math.Min(block, count - b * block), initial)).ToArray();
        var perWorker = await Task.WhenAll(workers.Select(async (w, i) =>
        {
            var mine = new List<FeatureBlock>();
            for (int b = i; b < requests.Length; b += workers.Length)
            {
                mine.Add(await w.ExtractFeaturesAsync(requests[b]));
                extracted(requests[b].Count);
            }
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
