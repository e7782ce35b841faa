using SslOrleans.Core.Masking;
using SslOrleans.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Methods.Mae;

/// <summary>
/// MAE's model: the ViT encodes only the visible patches; a light decoder places mask tokens at the masked
/// positions, adds fixed sine-cosine positions and predicts every patch's pixels. Names are MAE's
/// (decoder_embed, mask_token, decoder_pos_embed, decoder_blocks.i, decoder_norm, decoder_pred), the encoder under
/// "backbone.". decoder_pos_embed is a buffer (a tensor field): MAE freezes it, and a buffer is neither trained nor decayed.
/// </summary>
public sealed class MaskedAutoencoder : Module<Tensor, Tensor>
{
    private readonly VisionTransformer backbone;
    private readonly Linear decoder_embed;
    private readonly Parameter mask_token;
    private readonly Tensor decoder_pos_embed;
    private readonly ModuleList<VitBlock> decoder_blocks;
    private readonly LayerNorm decoder_norm;
    private readonly Linear decoder_pred;

    public MaskedAutoencoder(VisionTransformer backbone, MaeOptions options) : base("mae")
    {
        this.backbone = backbone;
        long dim = options.EffectiveDecoderDim;
        decoder_embed = Linear(backbone.EmbedDim, dim);
        mask_token = Parameter(zeros(1, 1, dim));
        decoder_pos_embed = SinCosPositions.Create(backbone.PatchGridSide, dim);
        decoder_blocks = ModuleList(Enumerable.Range(0, options.DecoderDepth)
            .Select(_ => new VitBlock(dim, dim / MaeOptions.DecoderHeadDim, VisionTransformer.MlpRatio * dim)).ToArray());
        decoder_norm = LayerNorm(dim, VitBlock.LayerNormEps);
        decoder_pred = Linear(dim, (long)options.Backbone.PatchSize * options.Backbone.PatchSize * options.Backbone.InputChannels);
        RegisterComponents();
        InitializeDecoder();
    }

    public VisionTransformer Backbone => backbone;

    // MAE: mask token normal(0, 0.02), Linear layers xavier-uniform with zero bias; the encoder initialised itself.
    private void InitializeDecoder()
    {
        using var _ = no_grad();
        init.normal_(mask_token, std: 0.02);
        foreach (var linear in new[] { decoder_embed, decoder_pred }.Concat(decoder_blocks.SelectMany(b => b.modules().OfType<Linear>())))
        {
            init.xavier_uniform_(linear.weight);
            if (linear.bias is not null) init.zeros_(linear.bias);
        }
    }

    /// <summary>Predicted patches [B, N, p·p·C] of normalised images [B, C, H, W] whose masked patches the encoder never sees.</summary>
    public Tensor Reconstruct(Tensor images, PatchMask mask)
    {
        using var scope = NewDisposeScope();
        var tokens = backbone.EmbedPatches(images);
        long b = tokens.shape[0], n = tokens.shape[1], d = tokens.shape[2];
        mask.RequireFits(b, n);
        var visibleIds = mask.VisibleIndices(tokens.device).unsqueeze(-1);
        var latent = backbone.Encode(tokens.gather(1, visibleIds.expand(-1, -1, d)));

        var x = decoder_embed.forward(latent);
        long dd = x.shape[2];
        // Mask tokens everywhere, then the decoded visible tokens back at their own positions.
        var patches = mask_token.expand(b, n, dd).scatter(1, visibleIds.expand(-1, -1, dd), x.narrow(1, 1, x.shape[1] - 1));
        x = cat([x.narrow(1, 0, 1), patches], 1).Plus(decoder_pos_embed);
        foreach (var block in decoder_blocks) x = block.forward(x);
        var predicted = decoder_pred.forward(decoder_norm.forward(x));
        return predicted.narrow(1, 1, n).MoveToOuterDisposeScope();
    }

    /// <summary>The backbone's pooled features (no masking).</summary>
    public override Tensor forward(Tensor images) => backbone.forward(images);
}
