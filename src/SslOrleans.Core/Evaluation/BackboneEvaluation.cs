using System.Diagnostics;
using System.Runtime.InteropServices;
using SslOrleans.Core.Data;
using SslOrleans.Core.Transforms;
using static TorchSharp.torch;

namespace SslOrleans.Core.Evaluation;

/// <summary>Frozen-feature scores of a backbone; accuracies in percent (0..100).</summary>
public sealed record BackboneEvaluationResult(
    double KnnTop1K20, double KnnTop1K200, LinearProbeResult Linear, int FeatureDim, int TrainSamples, int TestSamples,
    double? OnlineProbeTop1 = null);

/// <summary>
/// The standard SSL evaluation of a frozen backbone on a labelled dataset: weighted kNN (cosine, k = 20 and 200)
/// and a linear probe on eval-mode features of the first train and test samples.
/// </summary>
public static class BackboneEvaluation
{
    public static readonly int[] KnnK = [20, 200];

    /// <summary>Images per extraction batch unless a caller says otherwise.</summary>
    public const int ExtractionBatch = 500;

    public static BackboneEvaluationResult Run(
        nn.Module<Tensor, Tensor> backbone, IImageSource train, IImageSource test, int trainSamples, int testSamples,
        double knnTemperature, LinearProbeOptions? linear = null, Action<string>? log = null, nn.Module<Tensor, Tensor>? onlineProbe = null)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(trainSamples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(testSamples);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(trainSamples, train.Count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(testSamples, test.Count);
        if (train.Classes != test.Classes) throw new ArgumentException($"{train.Name} has {train.Classes} classes but {test.Name} has {test.Classes}");

        var clock = Stopwatch.StartNew();
        // Extraction is the long part (minutes for 70 000 images on two cores): say how far it is every few seconds.
        long total = (long)trainSamples + testSamples;
        double lastLog = 0;
        Action<int> Reporter(long before) => done =>
        {
            long all = before + done;
            double t = clock.Elapsed.TotalSeconds;
            if (log is null || (t - lastLog < 5 && all < total)) return;
            lastLog = t;
            log($"features: {all}/{total} images ({100.0 * all / total:F0}%), about {t * (total - all) / all:F0} s left");
        };
        var trainFeatures = Features(backbone, train, trainSamples, progress: Reporter(0));
        var testFeatures = Features(backbone, test, testSamples, progress: Reporter(trainSamples));
        int dim = trainFeatures.Length / trainSamples;
        var trainLabels = train.Labels.AsSpan(0, trainSamples).ToArray();
        var testLabels = test.Labels.AsSpan(0, testSamples).ToArray();
        log?.Invoke($"features: {trainSamples} train and {testSamples} test samples, dimension {dim}, in {clock.Elapsed.TotalSeconds:F1} s");

        clock.Restart();
        var knn = KnnK.Select(k => FeatureKnn.Top1(trainFeatures, trainLabels, testFeatures, testLabels, dim, train.Classes, k, knnTemperature)).ToArray();
        log?.Invoke($"kNN top-1: {knn[0]:F2} % (k = {KnnK[0]}), {knn[1]:F2} % (k = {KnnK[1]}), in {clock.Elapsed.TotalSeconds:F1} s");

        clock.Restart();
        var probe = LinearProbe.Fit(trainFeatures, trainLabels, testFeatures, testLabels, dim, train.Classes, linear, log);
        log?.Invoke($"linear probe: {probe.TestTop1:F2} % test, {probe.TrainTop1:F2} % train, {probe.Iterations} iterations, " +
                    $"loss {probe.TrainLoss:G5}, {(probe.Converged ? "converged" : "NOT converged")}, in {clock.Elapsed.TotalSeconds:F1} s");
        double? online = onlineProbe is null ? null : Top1(onlineProbe, testFeatures, testLabels, dim);
        if (online is not null) log?.Invoke($"online probe (trained during pretraining): {online:F2} % test");
        return new BackboneEvaluationResult(knn[0], knn[1], probe, dim, trainSamples, testSamples, online);
    }

    /// <summary>Top-1 (percent) of a classifier on row-major features.</summary>
    public static double Top1(nn.Module<Tensor, Tensor> classifier, float[] features, byte[] labels, int dim)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = classifier.forward(tensor(features, [labels.Length, dim]));
        var y = tensor(labels.Select(b => (long)b).ToArray());
        return 100.0 * logits.argmax(1).eq(y).sum().item<long>() / labels.Length;
    }

    /// <summary>
    /// Eval-mode features of samples [first, first + count), normalised with the dataset's mean and std as in
    /// training, in batches of <paramref name="batchSize"/>; row-major [count, dim]. <paramref name="progress"/> is told
    /// the samples done after every batch.
    /// </summary>
    public static float[] Features(nn.Module<Tensor, Tensor> backbone, IImageSource data, int count, int batchSize = ExtractionBatch, int first = 0,
        Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)first + count, data.Count, nameof(count));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var stats = data.Stats;
        bool training = backbone.training;
        backbone.eval();
        try
        {
            float[] result = [];
            int dim = 0;
            for (int start = 0; start < count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                int n = Math.Min(batchSize, count - start);
                // A source decoding from files starts on the next batch while this one runs through the backbone.
                int next = Math.Min(batchSize, count - start - n);
                if (next > 0) data.Prefetch(Enumerable.Range(first + start + n, next).ToArray());
                var images = ViewTransform.Normalize(data.ToTensor(Enumerable.Range(first + start, n).ToArray()), stats.Mean, stats.Std);
                var f = backbone.forward(images).contiguous();
                if (start == 0)
                {
                    dim = (int)f.shape[1];
                    result = new float[(long)count * dim];
                }
                MemoryMarshal.Cast<byte, float>(f.bytes).CopyTo(result.AsSpan(start * dim, n * dim));
                progress?.Invoke(start + n);
            }
            return result;
        }
        finally
        {
            backbone.train(training);
        }
    }

    /// <summary>L2 norm of the module's parameters (not its buffers), accumulated in float64.</summary>
    public static double ParameterNorm(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        using var scope = NewDisposeScope();
        double sum = 0;
        foreach (var p in module.parameters())
            foreach (var x in MemoryMarshal.Cast<byte, float>(p.detach().contiguous().bytes)) sum += (double)x * x;
        return Math.Sqrt(sum);
    }
}
