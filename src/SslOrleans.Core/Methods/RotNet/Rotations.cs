using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.RotNet;

/// <summary>RotNet's pretext task (Gidaris et al. 2018): every image in all four rotations, labelled 0–3.</summary>
public static class Rotations
{
    public const int Count = 4;

    /// <summary>[m, C, H, W] (square) → [4m, C, H, W]: rotations by 0°, 90°, 180°, 270° counter-clockwise, rotation-major; and their labels [4m].</summary>
    public static (Tensor Images, Tensor Labels) All(Tensor images)
    {
        if (images.ndim != 4 || images.shape[2] != images.shape[3])
            throw new ArgumentException($"images must be square [m, C, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        long m = images.shape[0];
        var rotated = cat(Enumerable.Range(0, Count).Select(k => images.rot90(k, (2, 3))).ToArray(), 0);
        var labels = arange(Count, dtype: ScalarType.Int64, device: images.device).repeat_interleave(m);
        return (rotated, labels);
    }
}
