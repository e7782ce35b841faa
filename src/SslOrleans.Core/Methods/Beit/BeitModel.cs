using SslOrleans.Core.Masking;
using SslOrleans.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Methods.Beit;

/// <summary>
/// BEiT's pretraining model: the ViT sees every patch, with masked patch embeddings replaced by a learned
/// mask_token before positions are added; lm_head scores the codebook at each masked position. Names are BEiT's
/// (mask_token, lm_head), the encoder under "backbone.".
/// </summary>
public sealed class BeitModel : Module<Tensor, Tensor>
{
    private readonly VisionTransformer backbone;
    private readonly Parameter mask_token;
    private readonly Linear lm_head;

    public BeitModel(VisionTransformer backbone, int codebookSize) : base("beit")
    {
        this.backbone = backbone;
        mask_token = Parameter(zeros(1, 1, backbone.EmbedDim));
        lm_head = Linear(backbone.EmbedDim, codebookSize);
        RegisterComponents();
        // BEiT: mask token and head weights truncated-normal with std 0.02, bias 0.
        using var _ = no_grad();
        VisionTransformer.TruncatedNormal(mask_token, 0.02);
        VisionTransformer.TruncatedNormal(lm_head.weight, 0.02);
        init.zeros_(lm_head.bias!);
    }

    public VisionTransformer Backbone => backbone;

    /// <summary>Codebook scores [B, M, K] at the M masked positions of each image (ascending patch order).</summary>
    public Tensor MaskedLogits(Tensor images, PatchMask mask)
    {
        using var scope = NewDisposeScope();
        var tokens = backbone.PatchTokens(images);
        long b = tokens.shape[0], n = tokens.shape[1], d = tokens.shape[2];
        mask.RequireFits(b, n);
        var w = mask.ToTensor(tokens.device).unsqueeze(-1);
        var mixed = (tokens * w.SubtractedFrom(1)).Plus(mask_token * w);
        var encoded = backbone.Encode(backbone.AddPositions(mixed));
        var maskedIds = mask.MaskedIndices(tokens.device).unsqueeze(-1).expand(-1, -1, d);
        var outputs = encoded.narrow(1, 1, n).gather(1, maskedIds);
        return lm_head.forward(outputs).MoveToOuterDisposeScope();
    }

    /// <summary>The backbone's pooled features (no masking).</summary>
    public override Tensor forward(Tensor images) => backbone.forward(images);
}
