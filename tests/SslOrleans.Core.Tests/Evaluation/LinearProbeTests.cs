using System.Diagnostics;
using SslOrleans.Core.Evaluation;
using Xunit.Abstractions;

namespace SslOrleans.Core.Tests.Evaluation;

public sealed class LinearProbeTests(ITestOutputHelper output)
{
    /// <summary>n samples of <paramref name="classes"/> Gaussian clusters: class c is centred at a random point of norm
    /// <paramref name="separation"/>; when <paramref name="informative"/> is false the labels are drawn independently.</summary>
    private static (float[] X, byte[] Y) Clusters(int n, int dim, int classes, double separation, bool informative, int seed)
    {
        var random = new Random(seed);
        var centreRandom = new Random(1234); // the same centres for the train and the test split
        var centres = new double[classes, dim];
        for (int c = 0; c < classes; c++)
        {
            var v = Enumerable.Range(0, dim).Select(_ => Gaussian(centreRandom)).ToArray();
            double norm = Math.Sqrt(v.Sum(a => a * a));
            for (int j = 0; j < dim; j++) centres[c, j] = separation * v[j] / norm;
        }
        var x = new float[n * dim];
        var y = new byte[n];
        for (int i = 0; i < n; i++)
        {
            int cluster = random.Next(classes);
            y[i] = informative ? (byte)cluster : (byte)random.Next(classes);
            for (int j = 0; j < dim; j++) x[i * dim + j] = (float)(centres[cluster, j] + Gaussian(random) + 3.0);
        }
        return (x, y);
    }

    private static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    [Fact]
    public void Separable_clusters_are_learned_to_convergence()
    {
        // Centres about 8 apart in 32 dimensions with unit noise: the Bayes error is far below 1 %.
        var (trainX, trainY) = Clusters(3000, 32, 5, 6, informative: true, seed: 1);
        var (testX, testY) = Clusters(1000, 32, 5, 6, informative: true, seed: 2);

        var r = LinearProbe.Fit(trainX, trainY, testX, testY, dim: 32, classes: 5);

        output.WriteLine(r.ToString());
        Assert.True(r.TestTop1 > 95, r.ToString());
        Assert.True(r.TrainTop1 > 95, r.ToString());
        Assert.True(r.Converged, r.ToString());
        Assert.InRange(r.Iterations, 1, new LinearProbeOptions().MaxIterations - 1);
        Assert.True(r.TrainLoss < 0.2, r.ToString());
    }

    [Fact]
    public void Labels_independent_of_the_features_stay_near_chance_on_held_out_data()
    {
        // Many dimensions, few samples: the probe can fit noise on the train split, but not beyond it.
        var (trainX, trainY) = Clusters(2000, 64, 4, 6, informative: false, seed: 3);
        var (testX, testY) = Clusters(2000, 64, 4, 6, informative: false, seed: 4);

        var r = LinearProbe.Fit(trainX, trainY, testX, testY, dim: 64, classes: 4);

        output.WriteLine(r.ToString());
        Assert.InRange(r.TestTop1, 20.0, 30.0);
        Assert.True(r.TrainTop1 > r.TestTop1, r.ToString());
    }

    [Fact]
    public void Strongly_correlated_features_converge_in_few_iterations()
    {
        // Every feature shares a large common component, as SSL features do: the correlation matrix has
        // condition number ≈ 26·dim, which made unpreconditioned L-BFGS crawl.
        const int dim = 64;
        var (trainX, trainY) = Clusters(3000, dim, 5, 2, informative: true, seed: 11);
        var (testX, testY) = Clusters(1000, dim, 5, 2, informative: true, seed: 12);
        foreach (var x in new[] { trainX, testX })
        {
            var random = new Random(13);
            for (int i = 0; i < x.Length / dim; i++)
            {
                float shared = (float)(5 * Gaussian(random));
                for (int j = 0; j < dim; j++) x[i * dim + j] += shared;
            }
        }

        var r = LinearProbe.Fit(trainX, trainY, testX, testY, dim, 5);

        output.WriteLine(r.ToString());
        Assert.True(r.Converged, r.ToString());
        Assert.True(r.Iterations < 100, r.ToString());
        Assert.True(r.TestTop1 > 60, r.ToString());
    }

    [Fact]
    public void Same_inputs_give_the_same_result()
    {
        var (trainX, trainY) = Clusters(1000, 16, 3, 2, informative: true, seed: 5);
        var (testX, testY) = Clusters(500, 16, 3, 2, informative: true, seed: 6);

        var a = LinearProbe.Fit(trainX, trainY, testX, testY, 16, 3);
        var b = LinearProbe.Fit(trainX, trainY, testX, testY, 16, 3);

        Assert.Equal(a, b);
    }

    [Fact]
    public void The_iteration_cap_is_reported_as_not_converged()
    {
        var (trainX, trainY) = Clusters(1000, 16, 3, 2, informative: true, seed: 7);
        var (testX, testY) = Clusters(500, 16, 3, 2, informative: true, seed: 8);

        var r = LinearProbe.Fit(trainX, trainY, testX, testY, 16, 3, new LinearProbeOptions(MaxIterations: 2));

        Assert.Equal(2, r.Iterations);
        Assert.False(r.Converged);
    }

    [Fact]
    public void Invalid_inputs_are_rejected()
    {
        float[] x = [1, 2, 3, 4];
        byte[] y = [0, 1];
        Assert.ThrowsAny<ArgumentException>(() => LinearProbe.Fit(x, [0, 1, 0], x, y, 2, 2));   // train lengths differ
        Assert.ThrowsAny<ArgumentException>(() => LinearProbe.Fit(x, y, [1, 2, 3], y, 2, 2));   // test lengths differ
        Assert.ThrowsAny<ArgumentException>(() => LinearProbe.Fit(x, y, x, y, 2, 0));          // zero classes
        Assert.ThrowsAny<ArgumentException>(() => LinearProbe.Fit(x, y, x, y, 2, 1));          // label 1 of 1 class
        Assert.ThrowsAny<ArgumentException>(() => LinearProbe.Fit(x, y, x, y, 0, 2));          // zero dimensions
        Assert.ThrowsAny<ArgumentException>(() => LinearProbe.Fit([], [], x, y, 2, 2));        // nothing to fit
        Assert.ThrowsAny<ArgumentException>(() => LinearProbe.Fit(x, y, x, y, 2, 2, new LinearProbeOptions(L2: -1)));
    }

    /// <summary>The size the CLI meets at width 128: 60 000 × 1024 features, 10 classes. Skipped by default
    /// (about 250 MB per copy); run with SSLO_SLOW_TESTS=1 to time it.</summary>
    [Fact]
    public void Full_size_features_fit_in_well_under_a_minute()
    {
        if (Environment.GetEnvironmentVariable("SSLO_SLOW_TESTS") != "1") return;
        TorchSharp.torch.set_num_threads(Environment.ProcessorCount);
        var (trainX, trainY) = Clusters(60_000, 1024, 10, 3, informative: true, seed: 9);
        var (testX, testY) = Clusters(10_000, 1024, 10, 3, informative: true, seed: 10);
        var clock = Stopwatch.StartNew();

        var r = LinearProbe.Fit(trainX, trainY, testX, testY, 1024, 10, log: output.WriteLine);

        output.WriteLine($"{r} in {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"{clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(r.Converged, r.ToString());
    }
}
