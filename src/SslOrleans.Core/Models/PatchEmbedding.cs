using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>
/// Non-overlapping patches → tokens: one Conv2d with kernel = stride = patch size (timm's <c>patch_embed.proj</c>).
/// forward returns [B, N, D] in row-major patch order.
/// </summary>
public sealed class PatchEmbedding : Module<Tensor, Tensor>
{
    private readonly Conv2d proj;

    public PatchEmbedding(long inputChannels, long embedDim, long patchSize) : base("patch_embed")
    {
        proj = Conv2d(inputChannels, embedDim, kernel_size: patchSize, stride: patchSize);
        RegisterComponents();
        using var _ = no_grad();
        // MAE: the projection is a Linear on flattened patches, so it gets a Linear's xavier-uniform init.
        init.xavier_uniform_(proj.weight.view(embedDim, -1));
        init.zeros_(proj.bias!);
    }

    public override Tensor forward(Tensor images)
    {
        using var maps = proj.call(images); // [B, D, H/P, W/P]
        return maps.flatten(2).transpose(1, 2);
    }
}
