using SslOrleans.Core.Methods.Beit;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Tokenizers;

/// <summary>
/// The image tokenizer of BEiT-style masked image modelling: a small VQ-VAE over ViT patches. The encoder gives one
/// latent per patch (conv3×3 → ReLU → conv with kernel = stride = patch → ReLU → conv1×1 to the code width), the
/// <see cref="VectorQuantizer"/> turns each into one of <see cref="CodebookSize"/> visual tokens, and the decoder
/// (conv1×1 → ReLU → transposed conv kernel = stride = patch → ReLU → conv3×3) rebuilds the image from the tokens,
/// which is what makes the tokens describe the patches. State-dict keys: encoder.{0,2,4}.*, quantizer.codebook,
/// decoder.{0,2,4}.*.
/// </summary>
public sealed class VqTokenizer : Module<Tensor, TokenizerOutput>, IPatchTokenizer
{
    private readonly Sequential encoder;
    private readonly VectorQuantizer quantizer;
    private readonly Sequential decoder;

    public VqTokenizer(TokenizerOptions options) : base("vq_tokenizer")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        long c = options.Channels, hidden = options.HiddenDim, code = options.CodeDim, p = options.PatchSize;
        encoder = Sequential(
            ("0", Conv2d(c, hidden, kernel_size: 3, padding: 1)),
            ("1", ReLU()),
            ("2", Conv2d(hidden, hidden, kernel_size: p, stride: p)),
            ("3", ReLU()),
            ("4", Conv2d(hidden, code, kernel_size: 1)));
        quantizer = new VectorQuantizer(options.CodebookSize, code, options.CommitmentCost);
        decoder = Sequential(
            ("0", Conv2d(code, hidden, kernel_size: 1)),
            ("1", ReLU()),
            ("2", ConvTranspose2d(hidden, hidden, kernel_size: p, stride: p)),
            ("3", ReLU()),
            ("4", Conv2d(hidden, c, kernel_size: 3, padding: 1)));
        RegisterComponents();
    }

    public TokenizerOptions Options { get; }

    public int CodebookSize => Options.CodebookSize;

    public int PatchSize => Options.PatchSize;

    public int ImageSize => Options.ImageSize;

    public int Channels => Options.Channels;

    /// <summary>Tokens per image, (ImageSize / PatchSize)².</summary>
    public int PatchCount => Options.PatchCount;

    /// <summary>The quantizer, whose codebook the trainer initialises from data and restarts.</summary>
    public VectorQuantizer Quantizer => quantizer;

    /// <summary>
    /// Visual tokens of normalised images [B, C, H, W] ((x − dataset mean) / std, as ViewTransform gives them):
    /// int64 [B, PatchCount] in row-major patch order, patch (r, c) at r·side + c, the order of a ViT's patch tokens.
    /// Runs without gradients and in eval mode (restored afterwards).
    /// </summary>
    public Tensor Codes(Tensor images)
    {
        CheckImages(images);
        bool wasTraining = training;
        if (wasTraining) eval();
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var latents = Latents(images);
            return quantizer.Nearest(latents).view(images.shape[0], PatchCount).MoveToOuterDisposeScope();
        }
        finally
        {
            if (wasTraining) train();
        }
    }

    /// <summary>Training pass: the reconstruction of normalised images, the VQ loss, the codes and the latents.</summary>
    public override TokenizerOutput forward(Tensor images)
    {
        CheckImages(images);
        using var scope = NewDisposeScope();
        long b = images.shape[0], side = Options.Side;
        var q = quantizer.forward(Latents(images)); // its tensors belong to this scope
        // [B·N, D] back to the latent grid [B, D, side, side] for the decoder.
        var grid = q.Quantized.view(b, side, side, Options.CodeDim).permute(0, 3, 1, 2);
        var reconstruction = decoder.forward(grid);
        return new TokenizerOutput(
            reconstruction.MoveToOuterDisposeScope(), q.VqLoss.MoveToOuterDisposeScope(),
            q.Indices.view(b, PatchCount).MoveToOuterDisposeScope(), q.Latents.MoveToOuterDisposeScope());
    }

    // Encoder output [B, D, side, side] → one latent per patch, rows b·N + r·side + c: [B·N, D].
    private Tensor Latents(Tensor images)
    {
        using var maps = encoder.forward(images);
        return maps.permute(0, 2, 3, 1).reshape(-1, Options.CodeDim);
    }

    private void CheckImages(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() != 4 || images.shape[1] != Channels || images.shape[2] != ImageSize || images.shape[3] != ImageSize)
            throw new ArgumentException(
                $"expected normalised images [B, {Channels}, {ImageSize}, {ImageSize}]; got [{string.Join(", ", images.shape)}]", nameof(images));
        if (images.dtype != ScalarType.Float32)
            throw new ArgumentException($"expected float32 images; got {images.dtype}", nameof(images));
    }
}

/// <summary>What <see cref="VqTokenizer.forward"/> returns.</summary>
/// <param name="Reconstruction">[B, C, H, W], to compare with the normalised input.</param>
/// <param name="VqLoss">Scalar codebook + commitment loss.</param>
/// <param name="Codes">int64 [B, N], row-major patch order.</param>
/// <param name="Latents">L2-normalised encoder latents [B·N, D], detached use only (dead-code restarts).</param>
public sealed record TokenizerOutput(Tensor Reconstruction, Tensor VqLoss, Tensor Codes, Tensor Latents) : IDisposable
{
    public void Dispose()
    {
        Reconstruction.Dispose();
        VqLoss.Dispose();
        Codes.Dispose();
        Latents.Dispose();
    }
}
