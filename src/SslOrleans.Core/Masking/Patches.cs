using static TorchSharp.torch;

namespace SslOrleans.Core.Masking;

/// <summary>
/// Images ↔ flattened patches in MAE's layout: patch (r, c) of a p × p grid cell is row r·(W/p) + c, and its values
/// are ordered (row in patch, column in patch, channel), as MAE's <c>patchify</c> ('nchpwq->nhwpqc').
/// </summary>
public static class Patches
{
    /// <summary>[B, C, H, W] → [B, (H/p)(W/p), p·p·C].</summary>
    public static Tensor Patchify(Tensor images, int patchSize)
    {
        if (images.ndim != 4) throw new ArgumentException($"images must be [B, C, H, W], got [{string.Join(", ", images.shape)}]", nameof(images));
        long b = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        if (patchSize < 1 || h % patchSize != 0 || w % patchSize != 0)
            throw new ArgumentException($"patch size {patchSize} must divide the image size {h} × {w}", nameof(patchSize));
        long gh = h / patchSize, gw = w / patchSize;
        return images.reshape(b, c, gh, patchSize, gw, patchSize)
            .permute(0, 2, 4, 3, 5, 1)
            .reshape(b, gh * gw, patchSize * patchSize * c);
    }

    /// <summary>[B, N, p·p·C] → [B, C, H, W] for a square grid of N patches.</summary>
    public static Tensor Unpatchify(Tensor patches, int patchSize, int channels)
    {
        if (patches.ndim != 3) throw new ArgumentException($"patches must be [B, N, p·p·C], got [{string.Join(", ", patches.shape)}]", nameof(patches));
        long b = patches.shape[0], n = patches.shape[1];
        long side = (long)Math.Round(Math.Sqrt(n));
        if (side * side != n) throw new ArgumentException($"{n} patches do not form a square grid", nameof(patches));
        if (patches.shape[2] != (long)patchSize * patchSize * channels)
            throw new ArgumentException($"a patch has {patches.shape[2]} values, not {patchSize}·{patchSize}·{channels}", nameof(patches));
        return patches.reshape(b, side, side, patchSize, patchSize, channels)
            .permute(0, 5, 1, 3, 2, 4)
            .reshape(b, channels, side * patchSize, side * patchSize);
    }
}
