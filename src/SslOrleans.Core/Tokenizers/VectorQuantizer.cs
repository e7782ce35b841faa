using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tokenizers;

/// <summary>
/// Cosine-similarity vector quantisation (ViT-VQGAN, BEiT v2): latents and codes are L2-normalised and each latent
/// takes the code with the largest dot product. On the unit sphere no code can sit far out of reach of every latent,
/// which is what leaves most codes of a Euclidean codebook unused. One parameter, <c>codebook</c> [K, D].
/// </summary>
public sealed class VectorQuantizer : nn.Module<Tensor, QuantizerOutput>
{
    private readonly Parameter codebook;
    private readonly double commitmentCost;

    public VectorQuantizer(long codebookSize, long codeDim, double commitmentCost) : base("quantizer")
    {
        codebook = new Parameter(randn(codebookSize, codeDim));
        this.commitmentCost = commitmentCost;
        RegisterComponents();
    }

    /// <summary>The raw (not normalised) codebook [K, D]; the trainer initialises and restarts rows of it.</summary>
    public Parameter Codebook => codebook;

    /// <summary>Latents [M, D] → the index of the nearest code of each, int64 [M].</summary>
    public Tensor Nearest(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var z = nn.functional.normalize(latents, dim: 1);
        var codes = nn.functional.normalize(codebook, dim: 1);
        return z.matmul(codes.t()).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Latents [M, D] → normalised latents, their codes passed straight through (forward value: the code; gradient:
    /// the latent's, since argmax has none), the VQ loss ‖sg(z) − zq‖² + β‖z − sg(zq)‖² (means) and the indices.
    /// </summary>
    public override QuantizerOutput forward(Tensor latents)
    {
        using var scope = NewDisposeScope();
        var z = nn.functional.normalize(latents, dim: 1);
        var codes = nn.functional.normalize(codebook, dim: 1);
        Tensor indices;
        using (no_grad()) indices = z.matmul(codes.t()).argmax(1);
        var zq = codes.index_select(0, indices);
        var codebookLoss = nn.functional.mse_loss(zq, z.detach());
        var commitmentLoss = nn.functional.mse_loss(z, zq.detach());
        var vqLoss = codebookLoss.Plus(commitmentLoss.Times(commitmentCost));
        var straightThrough = z.Plus((zq - z).detach());
        return new QuantizerOutput(
            z.MoveToOuterDisposeScope(), straightThrough.MoveToOuterDisposeScope(),
            vqLoss.MoveToOuterDisposeScope(), indices.MoveToOuterDisposeScope());
    }
}

/// <summary>What <see cref="VectorQuantizer"/> returns; rows in the order of the latents given to it.</summary>
/// <param name="Latents">The L2-normalised latents [M, D] (the trainer restarts dead codes from them).</param>
/// <param name="Quantized">Codes with the straight-through gradient, [M, D].</param>
/// <param name="VqLoss">Scalar codebook + commitment loss.</param>
/// <param name="Indices">int64 [M].</param>
public sealed record QuantizerOutput(Tensor Latents, Tensor Quantized, Tensor VqLoss, Tensor Indices) : IDisposable
{
    public void Dispose()
    {
        Latents.Dispose();
        Quantized.Dispose();
        VqLoss.Dispose();
        Indices.Dispose();
    }
}
