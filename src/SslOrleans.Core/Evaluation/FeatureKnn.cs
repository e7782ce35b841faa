using static TorchSharp.torch;

namespace SslOrleans.Core.Evaluation;

/// <summary>kNN top-1 on features held as flat arrays (as they arrive from workers).</summary>
public static class FeatureKnn
{
    public static double Top1(float[] trainFeatures, byte[] trainLabels, float[] testFeatures, byte[] testLabels,
        int dim, int classes, int k, double temperature)
    {
        using var scope = NewDisposeScope();
        var train = tensor(trainFeatures, [trainLabels.Length, dim]);
        var test = tensor(testFeatures, [testLabels.Length, dim]);
        return Knn.Top1(train, trainLabels, test, testLabels, classes, Math.Min(k, trainLabels.Length), temperature);
    }
}
