using SslOrleans.Core.Methods;
using TorchSharp;

namespace SslOrleans.Core.Data;

/// <summary>
/// What training and evaluation read images through: Fashion-MNIST held in memory (<see cref="ImageDataset"/>) or a
/// dataset decoded on demand from its files (<see cref="Images.StreamingImageSource"/>). Thread-safe.
/// </summary>
public interface IImageSource
{
    string Name { get; }

    int Count { get; }

    int Channels { get; }

    int Height { get; }

    int Width { get; }

    /// <summary>Classes of <see cref="Labels"/>; 0 when the split is unlabelled (no probe, no kNN).</summary>
    int Classes { get; }

    /// <summary>One label per sample (all 0 when unlabelled). Labels are small: every split holds them in memory.</summary>
    byte[] Labels { get; }

    /// <summary>Per-channel mean and standard deviation of the pixels in [0, 1], which the views normalise with.</summary>
    ImageStats Stats { get; }

    /// <summary>The selected images as float32 [n, C, H, W] in [0, 1].</summary>
    torch.Tensor ToTensor(ReadOnlySpan<int> indices);

    /// <summary>A hint that these samples are read soon: a source that decodes from files starts on them now, on its
    /// own threads. The default does nothing (an in-memory source needs no head start).</summary>
    void Prefetch(ReadOnlySpan<int> indices) { }
}
