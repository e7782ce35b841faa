using SslOrleans.Core.Data;

namespace SslOrleans.Core.Tests.Data;

public sealed class ImageDatasetTests
{
    [Fact]
    public void MeanAndStdAreComputedOnTheUnitScale()
    {
        // Half black, half white: mean 0.5, population std 0.5.
        var dataset = new ImageDataset("bw", 1, 1, 2, [0, 255, 255, 0], [0, 1], classes: 2);

        Assert.Equal(0.5f, dataset.Mean, 6);
        Assert.Equal(0.5f, dataset.Std, 6);
        Assert.Equal(2, dataset.Count);
    }

    [Fact]
    public void GivenStatisticsAreKept()
    {
        var dataset = new ImageDataset("given", 1, 1, 1, [7], [0], classes: 1, mean: 0.25f, std: 0.125f);

        Assert.Equal(0.25f, dataset.Mean);
        Assert.Equal(0.125f, dataset.Std);
    }

    [Fact]
    public void ToTensorSelectsScalesAndKeepsNchw()
    {
        // 3 images of 2 channels × 1 × 2: image i holds bytes 10i .. 10i+3.
        byte[] pixels = [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 255];
        var dataset = new ImageDataset("toy", 2, 1, 2, pixels, [0, 1, 2], classes: 3);

        using var batch = dataset.ToTensor([2, 0, 2]);

        Assert.Equal(new long[] { 3, 2, 1, 2 }, batch.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, batch.dtype);
        var values = batch.data<float>().ToArray();
        float[] expected = [20, 21, 22, 255, 0, 1, 2, 3, 20, 21, 22, 255];
        Assert.Equal(expected.Select(v => v / 255f), values);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3)]
    public void ToTensorRejectsIndicesOutOfRange(int index)
    {
        var dataset = new ImageDataset("toy", 1, 1, 1, [1, 2, 3], [0, 0, 0], classes: 1);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => dataset.ToTensor([0, index]));

        Assert.Contains($"{index}", e.Message);
        Assert.Contains("[0, 3)", e.Message);
    }

    [Fact]
    public void InconsistentInputsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new ImageDataset("short", 1, 2, 2, [1, 2, 3], [0], classes: 1));
        Assert.Throws<ArgumentException>(() => new ImageDataset("label", 1, 1, 1, [1], [5], classes: 5));
    }
}
