using SslOrleans.Core.Data;
using SslOrleans.Core.Data.Images;
using SslOrleans.Core.Tests.Data;

namespace SslOrleans.Core.Tests.Data.Images;

public sealed class DatasetCheckTests
{
    [Fact]
    public void StatisticsMatchANaiveComputationAndBadSamplesAreListed()
    {
        using var temp = new TempDirectory();
        for (int i = 0; i < 6; i++)
        {
            TestImages.Write(temp.File($"{(i < 4 ? "a" : "b")}/{i}.png"), TestImages.Png(8, 8, TestImages.Pattern(i)));
        }

        TestImages.Write(temp.File("a/9.txt"), [1]);
        TestImages.Write(temp.File("b/9.png"), [0x89, 0x50]);
        using var reader = new ImageFolderReader(temp.Path, "train");
        var progress = new List<(int, int)>();

        var report = DatasetCheck.Run(reader, 3, 8, threads: 2, new Recorder(progress));

        Assert.Equal(8, report.Count);
        Assert.Equal(6, report.GoodCount);
        Assert.Equal([4, 2], report.ClassCounts);
        Assert.Equal([4, 7], report.BadSamples.Select(b => b.Index));
        Assert.EndsWith("9.txt", report.BadSamples[0].Sample);
        Assert.Contains("not an image file", report.BadSamples[0].Reason);
        Assert.Equal((8, 8), progress[^1]);
        for (int c = 0; c < 3; c++)
        {
            var values = Enumerable.Range(0, 6)
                .SelectMany(i => TestImages.Planes(8, 8, TestImages.Pattern(i)).Skip(c * 64).Take(64))
                .Select(v => v / 255.0)
                .ToArray();
            double mean = values.Average();
            double std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
            Assert.Equal(mean, report.Mean[c], 12);
            Assert.Equal(std, report.Std[c], 12);
        }
    }

    [Fact]
    public void GreyStatisticsAreImageDatasetsToTheBit()
    {
        using var temp = new TempDirectory();
        var pixels = new List<byte>();
        for (int i = 0; i < 5; i++)
        {
            var grey = Enumerable.Range(0, 28 * 28).Select(p => (byte)((p * (i + 3)) % 251)).ToArray();
            pixels.AddRange(grey);
            TestImages.Write(temp.File($"{i}.png"), TestImages.GreyPng(grey, 28, 28));
        }

        using var reader = new ImageFolderReader(temp.Path, "train");
        var dataset = new ImageDataset("grey", 1, 28, 28, [.. pixels], new byte[5], classes: 1);

        var report = DatasetCheck.Run(reader, 1, 28, threads: 2);

        Assert.Equal(dataset.Mean, (float)report.Mean[0]);
        Assert.Equal(dataset.Std, (float)report.Std[0]);
    }

    [Fact]
    public void TheReportRoundTripsThroughSnakeCaseJson()
    {
        var report = new DatasetReport("x", 3, 1, 8, 2, ["a", "b"], [1, 1], [new DatasetBadSample(2, "f.png", "why")], [0.25], [0.5]);

        var json = report.ToJson();
        var back = DatasetReport.FromJson(json);

        Assert.Contains("\"class_counts\"", json);
        Assert.Contains("\"bad_samples\"", json);
        Assert.Equal(report.ClassNames, back.ClassNames);
        Assert.Equal(report.BadSamples, back.BadSamples);
        Assert.Equal(report.Mean, back.Mean);
        Assert.Equal(2, back.GoodCount);
    }

    [Fact]
    public void ASubsetWithoutTheBadSamplesReadsCleanly()
    {
        using var temp = new TempDirectory();
        TestImages.Write(temp.File("a/0.png"), TestImages.Png(8, 8, TestImages.Pattern(0)));
        TestImages.Write(temp.File("a/1.png"), [1, 2, 3]);
        TestImages.Write(temp.File("b/2.png"), TestImages.Png(8, 8, TestImages.Pattern(2)));
        var reader = new ImageFolderReader(temp.Path, "train");
        var report = DatasetCheck.Run(reader, 3, 8, threads: 1);

        using var subset = SampleSubset.Without(reader, report.BadSamples.Select(b => b.Index));

        Assert.Equal(2, subset.Count);
        Assert.Equal(1, subset.Label(1));
        Assert.Empty(DatasetCheck.Run(subset, 3, 8, threads: 1).BadSamples);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SampleSubset(reader, [3], leaveOpen: true));
    }

    private sealed class Recorder(List<(int, int)> seen) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value)
        {
            lock (seen)
            {
                seen.Add(value);
            }
        }
    }
}
