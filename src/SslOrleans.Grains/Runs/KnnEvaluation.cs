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
        var blocks = await BlocksAsync(workers, [.. Requests(FeatureSplit.Train, info.TrainCount, initial, block), .. Requests(FeatureSplit.Test, info.TestCount, initial, block)],
            Extracted);
        var train = blocks.Where(b => b.Split == FeatureSplit.Train).Select(b => b.Block).ToArray();
        var test = blocks.Where(b => b.Split == FeatureSplit.Test).Select(b => b.Block).ToArray();
        return await Task.Run(() =>
        {
            var (trainFeatures, trainLabels, dim) = Assemble(train, info.TrainCount);
            var (testFeatures, testLabels, _) = Assemble(test, info.TestCount);
            return FeatureKnn.Top1(trainFeatures, trainLabels, testFeatures, testLabels, dim, info.Classes, spec.KnnK, spec.KnnTemperature);
        });
    }

    private static IEnumerable<FeatureRequest> Requests(FeatureSplit split, int count, bool initial, int block) =>
        Enumerable.Range(0, (count + block - 1) / block).Select(b => new FeatureRequest(split, b * block, Math.Min(block, count - b * block), initial));

    /// <summary>Both splits' blocks in one queue: every worker takes the next block as soon as it finished its last, so
    /// no worker idles while another still has blocks of its own (a fixed share would wait for the slowest, and for
    /// the end of the train split before the test split starts).</summary>
    private static async Task<(FeatureSplit Split, FeatureBlock Block)[]> BlocksAsync(IWorkerGrain[] workers, FeatureRequest[] requests, Action<int> extracted)
    {
        var blocks = new (FeatureSplit, FeatureBlock)[requests.Length];
        int next = -1;
        await Task.WhenAll(workers.Select(async w =>
        {
            for (int b = Interlocked.Increment(ref next); b < requests.Length; b = Interlocked.Increment(ref next))
            {
                blocks[b] = (requests[b].Split, await w.ExtractFeaturesAsync(requests[b]));
                extracted(requests[b].Count);
            }
        }));
        return blocks;
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
