using SslOrleans.Core.Data;

namespace SslOrleans.Core.Tests.Data;

public sealed class FashionMnistTests
{
    private const string TrainImages = "train-images-idx3-ubyte";
    private const string TrainLabels = "train-labels-idx1-ubyte";

    [Fact]
    public void LoadsPlainAndGzipFilesFromADirectory()
    {
        using var dir = new TempDirectory();
        dir.Write(TrainImages, TempDirectory.Idx([3, 2, 2], [.. Enumerable.Range(0, 12).Select(i => (byte)(i * 20))]));
        dir.Write(TrainLabels + ".gz", TempDirectory.Gzip(TempDirectory.Idx([3], [9, 0, 4])));

        var train = FashionMnist.LoadTrain(dir.Path);

        Assert.Equal(3, train.Count);
        Assert.Equal((1, 2, 2), (train.Channels, train.Height, train.Width));
        Assert.Equal(10, train.Classes);
        Assert.Equal([9, 0, 4], train.Labels);
        Assert.Equal(220, train.Pixels[11]);
    }

    [Fact]
    public void MissingFileNamesThePathAndHowToInstall()
    {
        using var dir = new TempDirectory();
        dir.Write(TrainImages + ".gz", TempDirectory.Gzip(TempDirectory.Idx([1, 1, 1], [0])));

        var e = Assert.Throws<DatasetNotFoundException>(() => FashionMnist.LoadTrain(dir.Path));

        Assert.Contains(dir.File(TrainLabels + ".gz"), e.Message);
        Assert.Equal(dir.File(TrainLabels + ".gz"), e.FileName);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        Assert.Contains(FashionMnist.OfficialDownload, e.Message);
        Assert.Contains("--data DIR", e.Message);
    }

    [Fact]
    public void MissingDirectoryIsReportedAsMissingFile()
    {
        using var dir = new TempDirectory();
        var absent = Path.Combine(dir.Path, "nowhere");

        var e = Assert.Throws<DatasetNotFoundException>(() => FashionMnist.LoadTest(absent));

        Assert.Contains(Path.Combine(absent, "t10k-images-idx3-ubyte.gz"), e.Message);
    }

    [Fact]
    public void CorruptFileNamesTheFileAndHowToInstall()
    {
        using var dir = new TempDirectory();
        var images = dir.Write(TrainImages + ".gz", TempDirectory.Gzip(TempDirectory.Idx([2, 2, 2], [1, 2, 3])));
        dir.Write(TrainLabels, TempDirectory.Idx([2], [0, 1]));

        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.LoadTrain(dir.Path));

        Assert.Contains(images, e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void CountMismatchIsRejected()
    {
        using var dir = new TempDirectory();
        dir.Write(TrainImages, TempDirectory.Idx([2, 1, 1], [1, 2]));
        dir.Write(TrainLabels, TempDirectory.Idx([3], [0, 1, 2]));

        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.LoadTrain(dir.Path));

        Assert.Contains("3 labels", e.Message);
        Assert.Contains("2 images", e.Message);
    }

    [Fact]
    public void LabelsAboveNineAreRejected()
    {
        using var dir = new TempDirectory();
        dir.Write(TrainImages, TempDirectory.Idx([2, 1, 1], [1, 2]));
        var labels = dir.Write(TrainLabels, TempDirectory.Idx([2], [3, 10]));

        var e = Assert.Throws<IdxFormatException>(() => FashionMnist.LoadTrain(dir.Path));

        Assert.Contains(labels, e.Message);
        Assert.Contains("label 10", e.Message);
    }

    [Fact]
    public void CacheSharesOneCopyPerDirectoryAcrossThreads()
    {
        using var dir = new TempDirectory();
        using var other = new TempDirectory();
        foreach (var d in new[] { dir, other })
        {
            d.Write(TrainImages, TempDirectory.Idx([1, 1, 1], [1]));
            d.Write(TrainLabels, TempDirectory.Idx([1], [0]));
        }

        var loaded = new ImageDataset[8];
        Parallel.For(0, loaded.Length, i => loaded[i] = FashionMnist.LoadTrainCached(dir.Path + (i % 2 == 0 ? "" : "/")));

        Assert.All(loaded, d => Assert.Same(loaded[0], d));
        Assert.NotSame(loaded[0], FashionMnist.LoadTrainCached(other.Path));
        Assert.NotSame(loaded[0], FashionMnist.LoadTrain(dir.Path));
    }

    [Fact]
    public void CacheDoesNotRememberFailures()
    {
        using var dir = new TempDirectory();
        Assert.Throws<DatasetNotFoundException>(() => FashionMnist.LoadTrainCached(dir.Path));

        dir.Write(TrainImages, TempDirectory.Idx([1, 1, 1], [1]));
        dir.Write(TrainLabels, TempDirectory.Idx([1], [0]));

        Assert.Equal(1, FashionMnist.LoadTrainCached(dir.Path).Count);
    }

    [Fact]
    public void RealTrainSetLoads()
    {
        var train = FashionMnist.LoadTrainCached(null);

        Assert.Equal(60000, train.Count);
        Assert.Equal((1, 28, 28), (train.Channels, train.Height, train.Width));
        Assert.Equal(10, train.Classes);
        Assert.Equal(60000 * 28 * 28, train.Pixels.Length);
        var perClass = train.Labels.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, perClass.Count);
        Assert.All(perClass.Values, n => Assert.Equal(6000, n));
        // Published Fashion-MNIST statistics: mean 0.2860, std 0.3530.
        Assert.InRange(train.Mean, 0.2855f, 0.2865f);
        Assert.InRange(train.Std, 0.3525f, 0.3535f);

        using var batch = train.ToTensor([0, 59999]);
        Assert.Equal(new long[] { 2, 1, 28, 28 }, batch.shape);
        Assert.Equal(train.Pixels[59999 * 784 + 400] / 255f, batch[1, 0, 14, 8].item<float>());
    }

    [Fact]
    public void RealTestSetLoads()
    {
        var test = FashionMnist.LoadTestCached(null);

        Assert.Equal(10000, test.Count);
        Assert.Equal((1, 28, 28), (test.Channels, test.Height, test.Width));
        Assert.All(test.Labels.GroupBy(l => l), g => Assert.Equal(1000, g.Count()));
        Assert.InRange(test.Mean, 0.28f, 0.29f);
        Assert.Same(test, FashionMnist.LoadTestCached(FashionMnist.DefaultDirectories[0]));
    }
}
