using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Methods;

/// <summary>
/// A self-supervised method assembled from backbone + heads + loss + views. <see cref="Online"/> holds every
/// parameter the optimizer trains, in a fixed order; <see cref="Target"/>, when present, is an EMA copy of a
/// prefix of those parameters (same names, same order).
/// </summary>
public interface ISslMethod : IDisposable
{
    string Name { get; }
    nn.Module Online { get; }
    nn.Module? Target { get; }
    nn.Module<Tensor, Tensor> Backbone { get; }

    /// <summary>Loss of one micro-batch. <paramref name="images"/> are [m, C, H, W] in [0, 1]; views are drawn from <paramref name="seed"/>.</summary>
    Tensor Loss(Tensor images, ulong seed, ImageStats stats);
}

/// <summary>Per-dataset normalisation constants.</summary>
public readonly record struct ImageStats(float Mean, float Std);
