using SslOrleans.Core.Masking;
using SslOrleans.Core.Methods.Beit;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Methods;

/// <summary>
/// A fixed tokenizer for BEiT's tests: the code of a patch is the argmax of a seeded random projection of its
/// pixels. Deterministic and free of training, so a test of the BEiT objective does not depend on the VQ-VAE.
/// </summary>
internal sealed class ProjectionTokenizer : IPatchTokenizer
{
    private readonly Tensor projection;

    public ProjectionTokenizer(int codebookSize, int patchSize, int imageSize = 28, int channels = 1, int seed = 5)
    {
        CodebookSize = codebookSize;
        PatchSize = patchSize;
        ImageSize = imageSize;
        Channels = channels;
        using var generator = new TorchSharp.torch.Generator((ulong)seed);
        projection = randn([patchSize * patchSize * channels, codebookSize], generator: generator);
    }

    public int CodebookSize { get; }
    public int PatchSize { get; }
    public int ImageSize { get; }
    public int Channels { get; }

    public Tensor Codes(Tensor images)
    {
        using var _ = no_grad();
        using var patches = Patches.Patchify(images, PatchSize);
        return matmul(patches, projection).argmax(-1);
    }

    public void Dispose() => projection.Dispose();
}
