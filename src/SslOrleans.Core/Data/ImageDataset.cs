using TorchSharp;

namespace SslOrleans.Core.Data;

/// <summary>
/// An in-memory labelled image dataset stored as bytes (NCHW), the compact form the files use: Fashion-MNIST
/// train is 47 MB as bytes but 188 MB as float32, and several workers in one process share one instance.
/// Instances are treated as immutable: the constructor takes ownership of the arrays, and callers must not
/// write to <see cref="Pixels"/> or <see cref="Labels"/> (they are exposed as arrays for fast batch copies).
/// </summary>
public sealed class ImageDataset : IImageSource
{
    /// <param name="mean">Mean of the pixels scaled to [0,1]; computed from the data when null.</param>
    /// <param name="std">Population standard deviation of the pixels scaled to [0,1]; computed when null.</param>
    public ImageDataset(
        string name, int channels, int height, int width, byte[] pixels, byte[] labels, int classes,
        float? mean = null, float? std = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classes, 256);

        long imageSize = (long)channels * height * width;
        if (pixels.LongLength != imageSize * labels.LongLength)
        {
            throw new ArgumentException(
                $"{name}: {pixels.LongLength} pixel bytes do not match {labels.Length} labels × {channels}×{height}×{width}",
                nameof(pixels));
        }

        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classes)
            {
                throw new ArgumentException($"{name}: label {labels[i]} at index {i} is not below {classes} classes", nameof(labels));
            }
        }

        Name = name;
        Count = labels.Length;
        Channels = channels;
        Height = height;
        Width = width;
        Pixels = pixels;
        Labels = labels;
        Classes = classes;

        if (mean is null || std is null)
        {
            var (m, s) = ComputeStats(pixels);
            mean ??= m;
            std ??= s;
        }

        Mean = mean.Value;
        Std = std.Value;
    }

    public string Name { get; }

    public int Count { get; }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    /// <summary>All images, NCHW, Count·C·H·W bytes.</summary>
    public byte[] Pixels { get; }

    public byte[] Labels { get; }

    public int Classes { get; }

    /// <summary>
    /// Mean of all pixel values scaled to [0,1]. Taken over every channel together: for single-channel data
    /// such as Fashion-MNIST (the only kind loaded today) this is exactly the per-channel statistic.
    /// </summary>
    public float Mean { get; }

    /// <summary>Population standard deviation matching <see cref="Mean"/>.</summary>
    public float Std { get; }

    /// <summary>
    /// The normalisation statistics per channel: <see cref="Mean"/> and <see cref="Std"/> repeated over
    /// <see cref="Channels"/> channels.
    /// </summary>
    public Methods.ImageStats Stats => Methods.ImageStats.Repeated(Mean, Std, Channels);

    /// <summary>The selected images as float32 [n, C, H, W] in [0,1]; normalisation is left to the transforms.</summary>
    public torch.Tensor ToTensor(ReadOnlySpan<int> indices)
    {
        int imageSize = Channels * Height * Width;
        var values = new float[(long)indices.Length * imageSize];
        for (int i = 0; i < indices.Length; i++)
        {
            int index = indices[i];
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(indices), index, $"{Name}: sample index {index} (position {i}) is outside [0, {Count})");
            }

            UnitPixels.Convert(Pixels.AsSpan(index * imageSize, imageSize), values.AsSpan(i * imageSize, imageSize));
        }

        return torch.tensor(values, [indices.Length, Channels, Height, Width], torch.ScalarType.Float32);
    }

    // A histogram keeps this exact (integer sums) and fast: one pass, no floating-point accumulation error.
    private static (float Mean, float Std) ComputeStats(byte[] pixels)
    {
        if (pixels.Length == 0)
        {
            return (0f, 0f);
        }

        var histogram = new long[256];
        foreach (var p in pixels)
        {
            histogram[p]++;
        }

        double sum = 0, sumSquares = 0;
        for (int v = 0; v < 256; v++)
        {
            double x = v / 255.0;
            sum += histogram[v] * x;
            sumSquares += histogram[v] * x * x;
        }

        double mean = sum / pixels.Length;
        double variance = Math.Max(0, sumSquares / pixels.Length - mean * mean);
        return ((float)mean, (float)Math.Sqrt(variance));
    }
}
