using static TorchSharp.torch;

namespace SslOrleans.Core.Masking;

/// <summary>
/// Which patches of each image in a batch are masked: <see cref="Masked"/> is row-major [batch, patches]. Every
/// image has exactly <see cref="MaskedPerSample"/> masked patches, so a mean over masked patches of a micro-batch is
/// the mean of per-image means and micro-batches stay independent.
/// </summary>
public sealed class PatchMask
{
    public PatchMask(int batch, int patches, bool[] masked)
    {
        if (batch < 1 || patches < 1) throw new ArgumentOutOfRangeException(nameof(batch), $"a mask needs at least one image and one patch, got {batch} × {patches}");
        if (masked.Length != batch * patches) throw new ArgumentException($"{masked.Length} flags are not {batch} images × {patches} patches", nameof(masked));
        Batch = batch;
        Patches = patches;
        Masked = masked;
        MaskedPerSample = masked.AsSpan(0, patches).Count(true);
        for (int i = 1; i < batch; i++)
        {
            int n = masked.AsSpan(i * patches, patches).Count(true);
            if (n != MaskedPerSample) throw new ArgumentException($"image {i} has {n} masked patches, image 0 has {MaskedPerSample}: every image must mask as many", nameof(masked));
        }
    }

    public int Batch { get; }
    public int Patches { get; }
    public bool[] Masked { get; }
    public int MaskedPerSample { get; }
    public int VisiblePerSample => Patches - MaskedPerSample;

    public bool IsMasked(int image, int patch) => Masked[image * Patches + patch];

    /// <summary>Throws unless the mask is for <paramref name="images"/> images of <paramref name="patches"/> patches each.</summary>
    public void RequireFits(long images, long patches)
    {
        if (Batch != images || Patches != patches)
            throw new ArgumentException($"mask of {Batch} × {Patches} does not fit {images} images of {patches} patches");
    }

    /// <summary>[B, N] float: 1 where masked, 0 where visible.</summary>
    public Tensor ToTensor(Device? device = null) =>
        tensor(Masked.Select(m => m ? 1f : 0f).ToArray(), [Batch, Patches], device: device);

    /// <summary>[B, N] bool: true where masked.</summary>
    public Tensor ToBoolTensor(Device? device = null) => tensor(Masked, [Batch, Patches], device: device);

    /// <summary>Indices of the visible patches [B, N − masked], ascending.</summary>
    public Tensor VisibleIndices(Device? device = null) => Indices(false, VisiblePerSample, device);

    /// <summary>Indices of the masked patches [B, masked], ascending.</summary>
    public Tensor MaskedIndices(Device? device = null) => Indices(true, MaskedPerSample, device);

    private Tensor Indices(bool masked, int perSample, Device? device)
    {
        var ids = new long[Batch * perSample];
        int k = 0;
        for (int i = 0; i < Batch; i++)
            for (int p = 0; p < Patches; p++)
                if (Masked[i * Patches + p] == masked) ids[k++] = p;
        return tensor(ids, [Batch, perSample], device: device);
    }
}
