using SslOrleans.Core.Evaluation;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Evaluation;

public sealed class KnnTests
{
    [Theory]
    // Query (1,0) against A=(1,0) class 0 and B=(0.8,0.6), C=(0.6,0.8) class 1 (unit vectors, cos = 1, 0.8, 0.6).
    // T=0.1: class 0 gets e^10 ≈ 22026, class 1 gets e^8 + e^6 ≈ 3384 → class 0 (correct).
    // T=1:   class 0 gets e^1 ≈ 2.718,  class 1 gets e^0.8 + e^0.6 ≈ 4.048 → class 1 (wrong).
    [InlineData(0.1, 3, 100.0)]
    [InlineData(1.0, 3, 0.0)]
    [InlineData(1.0, 1, 100.0)]
    public void HandComputedExample(double temperature, int k, double expected)
    {
        // Scaled copies: the features must be L2-normalised before comparison.
        using var train = tensor(new float[] { 2, 0, 0.8f, 0.6f, 3 * 0.6f, 3 * 0.8f }, [3, 2]);
        using var test = tensor(new float[] { 5, 0 }, [1, 2]);

        var accuracy = Knn.Top1(train, [0, 1, 1], test, [0], classes: 2, k: k, temperature: temperature);

        Assert.Equal(expected, accuracy);
    }

    [Fact]
    public void PartialAccuracyIsInPercent()
    {
        using var train = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        // Three queries near class 0's direction, one near class 1's; the last label is deliberately wrong.
        using var test = tensor(new float[] { 1, 0.1f, 0.9f, 0.2f, 0.1f, 1, 1, 0 }, [4, 2]);

        var accuracy = Knn.Top1(train, [0, 1], test, [0, 0, 1, 1], classes: 2, k: 1, chunkSize: 3);

        Assert.Equal(75.0, accuracy);
    }

    [Fact]
    public void WellSeparatedClustersAreClassifiedPerfectly()
    {
        var random = new Random(1);
        var (train, trainLabels) = Clusters(random, perClass: 50, classes: 4, dim: 16, noise: 0.05);
        var (test, testLabels) = Clusters(random, perClass: 20, classes: 4, dim: 16, noise: 0.05);
        using (train)
        using (test)
        {
            Assert.Equal(100.0, Knn.Top1(train, trainLabels, test, testLabels, classes: 4, k: 20));
        }
    }

    [Theory]
    [InlineData(1, 1, 0.1, 7)]
    [InlineData(2, 10, 0.1, 16)]
    [InlineData(3, 25, 0.5, 1000)]
    [InlineData(4, 200, 0.07, 33)]
    public void MatchesANaiveImplementation(int seed, int k, double temperature, int chunkSize)
    {
        var random = new Random(seed);
        // Noisy clusters give a mid-range accuracy, where disagreements would show.
        var (train, trainLabels) = Clusters(random, perClass: 60, classes: 5, dim: 8, noise: 0.8);
        var (test, testLabels) = Clusters(random, perClass: 30, classes: 5, dim: 8, noise: 0.8);
        using (train)
        using (test)
        {
            var expected = Naive(Rows(train), trainLabels, Rows(test), testLabels, 5, k, temperature);

            var actual = Knn.Top1(train, trainLabels, test, testLabels, classes: 5, k, temperature, chunkSize);

            Assert.InRange(expected, 30.0, 95.0);
            Assert.Equal(expected, actual, 10);
        }
    }

    [Fact]
    public void InvalidArgumentsAreRejected()
    {
        using var train = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        using var test = tensor(new float[] { 1, 0 }, [1, 2]);
        using var wide = tensor(new float[] { 1, 0, 0 }, [1, 3]);
        byte[] labels = [0, 1];

        Assert.Throws<ArgumentOutOfRangeException>(() => Knn.Top1(train, labels, test, [0], 2, k: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Knn.Top1(train, labels, test, [0], 2, k: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Knn.Top1(train, labels, test, [0], 2, k: 1, temperature: 0));
        Assert.Throws<ArgumentException>(() => Knn.Top1(train, labels, wide, [0], 2, k: 1));
        Assert.Throws<ArgumentException>(() => Knn.Top1(train, [0], test, [0], 2, k: 1));
        Assert.Throws<ArgumentException>(() => Knn.Top1(train, labels, test, [2], 2, k: 1));
    }

    [Fact]
    public void InputsAreLeftIntact()
    {
        using var train = tensor(new float[] { 3, 4, 0, 1 }, [2, 2]);
        using var test = tensor(new float[] { 1, 0 }, [1, 2]);

        Knn.Top1(train, [0, 1], test, [0], 2, k: 1);

        Assert.Equal(new float[] { 3, 4, 0, 1 }, train.data<float>().ToArray());
        Assert.False(train.IsInvalid);
    }

    // Unit-ish class centres along distinct axes plus Gaussian noise; float64 so the naive reference is exact.
    private static (Tensor Features, byte[] Labels) Clusters(Random random, int perClass, int classes, int dim, double noise)
    {
        var values = new double[perClass * classes * dim];
        var labels = new byte[perClass * classes];
        for (int i = 0; i < labels.Length; i++)
        {
            int c = i % classes;
            labels[i] = (byte)c;
            for (int d = 0; d < dim; d++)
            {
                double gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                values[i * dim + d] = (d == c ? 1.0 : 0.0) + noise * gaussian;
            }
        }

        return (tensor(values, [labels.Length, dim]), labels);
    }

    private static double[][] Rows(Tensor features)
    {
        var flat = features.data<double>().ToArray();
        int dim = (int)features.shape[1];
        return [.. Enumerable.Range(0, (int)features.shape[0]).Select(i => flat[(i * dim)..((i + 1) * dim)])];
    }

    private static double Naive(double[][] train, byte[] trainLabels, double[][] test, byte[] testLabels, int classes, int k, double t)
    {
        static double[] Unit(double[] v)
        {
            double norm = Math.Sqrt(v.Sum(x => x * x));
            return [.. v.Select(x => x / norm)];
        }

        var bank = train.Select(Unit).ToArray();
        int correct = 0;
        for (int q = 0; q < test.Length; q++)
        {
            var query = Unit(test[q]);
            var similarities = new (double Similarity, int Index)[bank.Length];
            for (int i = 0; i < bank.Length; i++)
            {
                double dot = 0;
                for (int d = 0; d < query.Length; d++)
                {
                    dot += query[d] * bank[i][d];
                }

                similarities[i] = (dot, i);
            }

            var votes = new double[classes];
            foreach (var (similarity, index) in similarities.OrderByDescending(s => s.Similarity).Take(k))
            {
                votes[trainLabels[index]] += Math.Exp(similarity / t);
            }

            int predicted = Array.IndexOf(votes, votes.Max());
            if (predicted == testLabels[q])
            {
                correct++;
            }
        }

        return 100.0 * correct / test.Length;
    }
}
