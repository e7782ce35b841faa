using System.Text.Json.Serialization;

namespace SslOrleans.Core.Tokenizers;

/// <summary>
/// Shape of a <see cref="VqTokenizer"/>. <paramref name="PatchSize"/> and <paramref name="ImageSize"/> must equal
/// those of the ViT whose patches it labels, so that token i of the tokenizer is patch i of the ViT.
/// <paramref name="CommitmentCost"/> is the β of VQ-VAE: how strongly the encoder is pulled towards its code.
/// </summary>
public sealed record TokenizerOptions(
    int CodebookSize = 512,
    int PatchSize = 4,
    int CodeDim = 32,
    int HiddenDim = 64,
    int Channels = 1,
    int ImageSize = 28,
    double CommitmentCost = 0.25)
{
    /// <summary>Patches per image side.</summary>
    [JsonIgnore]
    public int Side => ImageSize / PatchSize;

    /// <summary>Tokens per image: Side².</summary>
    [JsonIgnore]
    public int PatchCount => Side * Side;

    public void Validate()
    {
        // Two codes are the least that makes a token carry information.
        if (CodebookSize < 2) throw new ArgumentOutOfRangeException(nameof(CodebookSize), CodebookSize, "the codebook needs at least 2 codes");
        if (PatchSize < 1) throw new ArgumentOutOfRangeException(nameof(PatchSize), PatchSize, "patch size must be at least 1");
        if (CodeDim < 1) throw new ArgumentOutOfRangeException(nameof(CodeDim), CodeDim, "code dim must be at least 1");
        if (HiddenDim < 1) throw new ArgumentOutOfRangeException(nameof(HiddenDim), HiddenDim, "hidden dim must be at least 1");
        if (Channels < 1) throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "channels must be at least 1");
        if (ImageSize < 1) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "image size must be at least 1");
        if (ImageSize % PatchSize != 0)
            throw new ArgumentException($"PatchSize {PatchSize} must divide ImageSize {ImageSize}", nameof(PatchSize));
        if (!(CommitmentCost >= 0) || double.IsInfinity(CommitmentCost))
            throw new ArgumentOutOfRangeException(nameof(CommitmentCost), CommitmentCost, "commitment cost must be a finite number ≥ 0");
    }
}
