using static TorchSharp.torch;

namespace SslOrleans.Core.Methods.Beit;

/// <summary>What BEiT needs of an image tokenizer: one discrete code per ViT patch.</summary>
public interface IPatchTokenizer : IDisposable
{
    int CodebookSize { get; }
    int PatchSize { get; }
    int ImageSize { get; }
    int Channels { get; }

    /// <summary>Normalised images [B, C, H, W] → codes [B, N] (int64, row-major patch order, like a ViT's tokens); no gradient.</summary>
    Tensor Codes(Tensor images);
}
