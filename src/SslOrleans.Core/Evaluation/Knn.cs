using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Evaluation;

/// <summary>
/// Weighted k-nearest-neighbour classification of frozen features, the standard SSL monitor
/// (Wu et al. 2018 "InstDisc"; same recipe as lightly and solo-learn): cosine similarity, top-k neighbours,
/// each voting for its label with weight exp(similarity / T).
/// </summary>
public static class Knn
{
    /// <summary>Top-1 accuracy in percent (0..100) of the test features classified against the train features.</summary>
    /// <param name="trainFeatures">[nTrain, d] features of the labelled bank.</param>
    /// <param name="testFeatures">[nTest, d] features to classify; computed in the train features' dtype.</param>
    /// <param name="chunkSize">Test rows per similarity matrix, bounding memory to chunkSize × nTrain.</param>
    public static double Top1(
        Tensor trainFeatures, byte[] trainLabels, Tensor testFeatures, byte[] testLabels, int classes,
        int k = 200, double temperature = 0.1, int chunkSize = 1000)
    {
        ArgumentNullException.ThrowIfNull(trainFeatures);
        ArgumentNullException.ThrowIfNull(trainLabels);
        ArgumentNullException.ThrowIfNull(testFeatures);
        ArgumentNullException.ThrowIfNull(testLabels);
        Validate(trainFeatures, trainLabels, testFeatures, testLabels, classes, k, temperature, chunkSize);

        int testCount = testLabels.Length;
        if (testCount == 0)
        {
            throw new ArgumentException("there are no test features to classify", nameof(testFeatures));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        // Integer features (if any) are compared as float32; float64 stays float64 for exact comparisons.
        var dtype = trainFeatures.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var device = trainFeatures.device;
        var bank = nn.functional.normalize(trainFeatures.detach().to_type(dtype), p: 2, dim: 1);
        var bankT = bank.t();
        var bankLabels = tensor(trainLabels.Select(l => (long)l).ToArray(), device: device);
        var queries = nn.functional.normalize(testFeatures.detach().to(dtype, device), p: 2, dim: 1);
        var truth = tensor(testLabels.Select(l => (long)l).ToArray(), device: device);

        long correct = 0;
        for (int start = 0; start < testCount; start += chunkSize)
        {
            // An inner scope frees each chunk's [chunk, nTrain] similarity matrix before the next one.
            using var chunkScope = NewDisposeScope();
            int n = Math.Min(chunkSize, testCount - start);
            var similarity = queries.narrow(0, start, n).mm(bankT);
            var (topSimilarity, topIndex) = similarity.topk(k, dim: 1);
            var neighbourLabels = bankLabels.index_select(0, topIndex.reshape(-1)).reshape(n, k);
            var weights = topSimilarity.Over(temperature).exp();
            var votes = zeros(n, classes, dtype: dtype, device: device).scatter_add_(1, neighbourLabels, weights);
            var predicted = votes.argmax(1);
            correct += predicted.eq(truth.narrow(0, start, n)).sum().item<long>();
        }

        return 100.0 * correct / testCount;
    }

    private static void Validate(
        Tensor trainFeatures, byte[] trainLabels, Tensor testFeatures, byte[] testLabels, int classes,
        int k, double temperature, int chunkSize)
    {
        if (trainFeatures.dim() != 2 || testFeatures.dim() != 2)
        {
            throw new ArgumentException(
                $"features must be 2-D [count, dim]; got train [{string.Join(", ", trainFeatures.shape)}], " +
                $"test [{string.Join(", ", testFeatures.shape)}]");
        }

        if (trainFeatures.shape[1] != testFeatures.shape[1])
        {
            throw new ArgumentException(
                $"train features have {trainFeatures.shape[1]} dimensions but test features have {testFeatures.shape[1]}",
                nameof(testFeatures));
        }

        if (trainFeatures.shape[0] != trainLabels.Length)
        {
            throw new ArgumentException($"{trainFeatures.shape[0]} train features but {trainLabels.Length} train labels", nameof(trainLabels));
        }

        if (testFeatures.shape[0] != testLabels.Length)
        {
            throw new ArgumentException($"{testFeatures.shape[0]} test features but {testLabels.Length} test labels", nameof(testLabels));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (k > trainLabels.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must not exceed the {trainLabels.Length} train samples");
        }

        if (!(temperature > 0) || double.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be positive and finite");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);

        int badTrain = Array.FindIndex(trainLabels, l => l >= classes);
        if (badTrain >= 0)
        {
            throw new ArgumentException($"train label {trainLabels[badTrain]} at {badTrain} is not below {classes} classes", nameof(trainLabels));
        }

        int badTest = Array.FindIndex(testLabels, l => l >= classes);
        if (badTest >= 0)
        {
            throw new ArgumentException($"test label {testLabels[badTest]} at {badTest} is not below {classes} classes", nameof(testLabels));
        }
    }
}
