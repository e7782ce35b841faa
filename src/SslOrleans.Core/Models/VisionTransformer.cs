using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>
/// ViT-Tiny: embed dim 3·width (192 at width 64), 12 pre-norm blocks, 3 heads, MLP ratio 4, learnable cls token and
/// position embedding for 1 + N tokens. Features = the final norm's cls token, or the mean of its patch tokens (<see cref="Pool"/>). Parameter names are timm's / MAE's
/// (cls_token, pos_embed, patch_embed.proj, blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm).
/// <see cref="EmbedPatches"/> and <see cref="Encode"/> are separate so MAE can encode only the visible tokens.
/// </summary>
public sealed class VisionTransformer : Backbone
{
    public const int Depth = 12;
    public const int Heads = 3;
    public const int MlpRatio = 4;

    private readonly Parameter cls_token;
    private readonly Parameter pos_embed;
    private readonly PatchEmbedding patch_embed;
    private readonly ModuleList<VitBlock> blocks;
    private readonly LayerNorm norm;
    private readonly long imageSize;
    private readonly bool meanPool;

    public long EmbedDim { get; }
    public long PatchCount { get; }
    /// <summary>Patches per row (and column) of the square grid: PatchCount = PatchGridSide².</summary>
    public int PatchGridSide { get; }
    public override long FeatureDim => EmbedDim;

    public VisionTransformer(BackboneOptions options) : base(Validated(options))
    {
        EmbedDim = 3L * options.Width;
        PatchGridSide = options.ImageSize / options.PatchSize;
        PatchCount = (long)PatchGridSide * PatchGridSide;
        imageSize = options.ImageSize;
        meanPool = options.Pool == "mean";
        cls_token = Parameter(zeros(1, 1, EmbedDim));
        pos_embed = Parameter(zeros(1, 1 + PatchCount, EmbedDim));
        patch_embed = new PatchEmbedding(options.InputChannels, EmbedDim, options.PatchSize);
        blocks = ModuleList(Enumerable.Range(0, Depth).Select(_ => new VitBlock(EmbedDim, Heads, MlpRatio * EmbedDim)).ToArray());
        norm = LayerNorm(EmbedDim, VitBlock.LayerNormEps);
        RegisterComponents();
        InitializeWeights();
    }

    private static BackboneOptions Validated(BackboneOptions options)
    {
        options.Validate();
        if (!options.IsVisionTransformer) throw new ArgumentException($"'{options.Name}' is not a vision transformer", nameof(options));
        return options;
    }

    // timm / MAE: tokens trunc-normal (std 0.02), every Linear xavier-uniform with zero bias, LayerNorm 1 / 0
    // (their defaults). The patch projection initialises itself.
    private void InitializeWeights()
    {
        using var _ = no_grad();
        TruncatedNormal(cls_token, 0.02);
        TruncatedNormal(pos_embed, 0.02);
        foreach (var (_, module) in named_modules())
        {
            if (module is Linear linear)
            {
                init.xavier_uniform_(linear.weight);
                if (linear.bias is not null) init.zeros_(linear.bias);
            }
        }
    }

    // PyTorch's trunc_normal_ (normal truncated at ±2σ) by inverse CDF, as torch.nn.init does it in Python.
    // TorchSharp 0.107's init.trunc_normal_ did not fill the zero-initialised tokens (their std stayed 0;
    // VisionTransformerTests.Initialisation_is_timms caught it), so it is written out.
    internal static void TruncatedNormal(Tensor tensor, double std)
    {
        double Cdf(double x) => (1 + Erf(x / Math.Sqrt(2))) / 2;
        double low = Cdf(-2), high = Cdf(2);
        tensor.uniform_(2 * low - 1, 2 * high - 1).erfinv_().mul_(std * Math.Sqrt(2)).clamp_(-2 * std, 2 * std);
    }

    // Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7) is ample for two interval ends; .NET has no Math.Erf.
    private static double Erf(double x)
    {
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return Math.Sign(x) * y;
    }

    /// <summary>Images [B, C, H, W] → patch tokens with their position embedding added, [B, N, D] (no cls token).</summary>
    public Tensor EmbedPatches(Tensor images)
    {
        using var tokens = PatchTokens(images);
        return AddPositions(tokens);
    }

    /// <summary>Images [B, C, H, W] → patch tokens [B, N, D] without position embedding, row-major patch order.
    /// BEiT replaces masked tokens here, before positions are added.</summary>
    public Tensor PatchTokens(Tensor images)
    {
        if (images.dim() != 4 || images.shape[2] != imageSize || images.shape[3] != imageSize)
            throw new ArgumentException(
                $"expected images [B, C, {imageSize}, {imageSize}] (the position embedding's size); got [{string.Join(", ", images.shape)}]",
                nameof(images));
        return patch_embed.forward(images);
    }

    /// <summary>Adds the patch position embedding to all N patch tokens [B, N, D].</summary>
    public Tensor AddPositions(Tensor tokens)
    {
        using var patchPositions = pos_embed.narrow(1, 1, PatchCount);
        return tokens.Plus(patchPositions);
    }

    /// <summary>
    /// Tokens [B, n, D] from <see cref="EmbedPatches"/> (all N of them or any subset) → prepends the cls token
    /// (with its position embedding), runs the blocks and the final norm: [B, 1 + n, D].
    /// </summary>
    public Tensor Encode(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var cls = cls_token.Plus(pos_embed.narrow(1, 0, 1)).expand(tokens.shape[0], -1, -1);
        var x = cat([cls, tokens], 1);
        foreach (var block in blocks) x = block.forward(x);
        return norm.forward(x).MoveToOuterDisposeScope();
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        return Pool(Encode(EmbedPatches(images))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Features of an encoded sequence [B, 1 + n, D]: the cls token, or with <see cref="BackboneOptions.Pool"/> "mean"
    /// the mean of the patch tokens. Masked image modelling trains no cls output, so MAE and BEiT pool the patches
    /// (BEiT's linear probe does the same).
    /// </summary>
    public Tensor Pool(Tensor encoded) =>
        meanPool ? encoded.narrow(1, 1, encoded.shape[1] - 1).mean([1]) : encoded.select(1, 0);
}
