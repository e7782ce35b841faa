using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods;

/// <summary>
/// A self-supervised method assembled from backbone + heads + loss + views. <see cref="Online"/> holds every
/// parameter the optimizer trains, in a fixed order; <see cref="Target"/>, when present, is an EMA copy of a
/// prefix of those parameters (same names, same order). A method implements exactly one of
/// <see cref="ISampleLossMethod"/> (its loss is a mean of per-sample terms, so micro-batches are independent)
/// and <see cref="IBatchLossMethod"/> (its loss couples every sample of the global batch).
/// </summary>
public interface ISslMethod : IDisposable
{
    string Name { get; }
    nn.Module Online { get; }
    nn.Module? Target { get; }
    nn.Module<Tensor, Tensor> Backbone { get; }
    long FeatureDim { get; }
}

/// <summary>A loss that averages per-sample terms (BYOL, RotNet): each micro-batch's loss is computed alone.</summary>
public interface ISampleLossMethod : ISslMethod
{
    /// <summary>Loss of one micro-batch. <paramref name="images"/> are [m, C, H, W] in [0, 1]; views are drawn from <paramref name="seed"/>.</summary>
    MethodOutput Loss(Tensor images, ulong seed, ImageStats stats);
}

/// <summary>
/// A loss over the whole global batch (SimCLR's negatives, Barlow Twins' normalisation and cross-correlation).
/// Training embeds every micro-batch, gathers the embeddings of the global batch, evaluates
/// <see cref="BatchLoss"/> on them and back-propagates each micro-batch's rows of its gradient.
/// </summary>
public interface IBatchLossMethod : ISslMethod
{
    /// <summary>Views per image (V).</summary>
    int Views { get; }
    /// <summary>Embedding width (d).</summary>
    long EmbeddingDim { get; }
    /// <summary>Embeddings of one micro-batch's views, [V, m, d].</summary>
    MethodOutput Embed(Tensor images, ulong seed, ImageStats stats);
    /// <summary>The loss of the global batch from its embeddings [V, N, d].</summary>
    Tensor BatchLoss(Tensor embeddings);
}

/// <param name="Value">The loss (scalar) or the embeddings [V, m, d].</param>
/// <param name="Features">Backbone features of the first view [m, F], detached: the online probe's input.</param>
public sealed record MethodOutput(Tensor Value, Tensor Features);

/// <summary>
/// Per-dataset normalisation constants, one per channel (or a single value that applies to every channel):
/// <c>(x[c] − Mean[c]) / Std[c]</c>.
/// </summary>
public readonly record struct ImageStats
{
    public ImageStats(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"mean ({mean.Length} values) and std ({std.Length}) must have the same, non-zero length");
        Mean = mean;
        Std = std;
    }

    /// <summary>Mean of each channel, pixels scaled to [0, 1].</summary>
    public float[] Mean { get; }

    /// <summary>Standard deviation of each channel.</summary>
    public float[] Std { get; }

    /// <summary>Number of channels the statistics describe.</summary>
    public int Channels => Mean.Length;

    /// <summary>One statistic repeated over <paramref name="channels"/> channels.</summary>
    public static ImageStats Repeated(float mean, float std, int channels = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        return new ImageStats(Enumerable.Repeat(mean, channels).ToArray(), Enumerable.Repeat(std, channels).ToArray());
    }
}
