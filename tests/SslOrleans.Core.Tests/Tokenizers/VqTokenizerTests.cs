using SslOrleans.Core.Tokenizers;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Tokenizers;

public sealed class VqTokenizerTests
{
    [Fact]
    public void Codes_are_one_in_range_index_per_patch()
    {
        using var tokenizer = TokenizerTrainer.Create(TokenizerTestKit.Small, seed: 1);
        using var images = TokenizerTestKit.Images(16);
        using var codes = tokenizer.Codes(images);
        Assert.Equal(new long[] { 16, 49 }, codes.shape);
        Assert.Equal(ScalarType.Int64, codes.dtype);
        Assert.Equal(49, tokenizer.PatchCount);
        Assert.InRange(codes.min().item<long>(), 0, 511);
        Assert.InRange(codes.max().item<long>(), 0, 511);
        Assert.True(tokenizer.training); // Codes switched to eval mode and back
    }

    [Fact]
    public void Codes_follow_row_major_patch_order()
    {
        // Changing only the 2×2 interior of patch (r, c) changes only that patch's latent: the 3×3 conv of a
        // neighbouring patch reaches one pixel across the border, never two. So only code r·7 + c may change;
        // in column-major order it would be code c·7 + r.
        using var tokenizer = TokenizerTrainer.Create(TokenizerTestKit.Small, seed: 1);
        using var images = TokenizerTestKit.Images(32);
        using var before = tokenizer.Codes(images);
        foreach (var (r, c) in new[] { (1, 5), (5, 2) })
        {
            using var changed = images.clone();
            using (no_grad())
            {
                using var noise = randn(32, 1, 2, 2, generator: new Generator(7)) * 3;
                changed[.., .., (4 * r + 1)..(4 * r + 3), (4 * c + 1)..(4 * c + 3)] = noise;
            }
            using var after = tokenizer.Codes(changed);
            using var differs = after.ne(before);
            var positions = differs.any(0).nonzero().flatten().data<long>().ToArray();
            Assert.Equal(new long[] { r * 7 + c }, positions);
        }
    }

    [Fact]
    public void Images_of_another_shape_are_named()
    {
        using var tokenizer = new VqTokenizer(TokenizerTestKit.Small);
        using var wrong = zeros(2, 3, 28, 28);
        var e = Assert.Throws<ArgumentException>(() => tokenizer.Codes(wrong));
        Assert.Contains("[B, 1, 28, 28]", e.Message);
        Assert.Contains("[2, 3, 28, 28]", e.Message);
        using var flat = zeros(2, 784);
        Assert.Throws<ArgumentException>(() => tokenizer.forward(flat));
    }

    [Fact]
    public void Bad_options_are_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new TokenizerOptions(PatchSize: 5).Validate());
        Assert.Equal("PatchSize", e.ParamName);
        Assert.Equal("CodebookSize", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenizerOptions(CodebookSize: 1).Validate()).ParamName);
        Assert.Equal("CodeDim", Assert.Throws<ArgumentOutOfRangeException>(() => new VqTokenizer(new TokenizerOptions(CodeDim: 0))).ParamName);
        Assert.Equal("CommitmentCost", Assert.Throws<ArgumentOutOfRangeException>(() => new TokenizerOptions(CommitmentCost: double.NaN).Validate()).ParamName);
    }

    [Fact]
    public void State_dict_names_encoder_quantizer_and_decoder()
    {
        using var tokenizer = new VqTokenizer(new TokenizerOptions(CodebookSize: 100, PatchSize: 7, CodeDim: 8, HiddenDim: 16));
        var shapes = tokenizer.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);
        Assert.Equal(new long[] { 100, 8 }, shapes["quantizer.codebook"]);
        Assert.Equal(new long[] { 16, 1, 3, 3 }, shapes["encoder.0.weight"]);
        Assert.Equal(new long[] { 16, 16, 7, 7 }, shapes["encoder.2.weight"]);
        Assert.Equal(new long[] { 8, 16, 1, 1 }, shapes["encoder.4.weight"]);
        Assert.Equal(new long[] { 16, 8, 1, 1 }, shapes["decoder.0.weight"]);
        Assert.Equal(new long[] { 16, 16, 7, 7 }, shapes["decoder.2.weight"]); // ConvTranspose2d: [in, out, k, k]
        Assert.Equal(new long[] { 1, 16, 3, 3 }, shapes["decoder.4.weight"]);
        Assert.Equal(13, shapes.Count);
        Assert.Equal(16, tokenizer.PatchCount);
    }

    [Fact]
    public void Straight_through_gradient_reaches_the_encoder_and_the_vq_loss_the_codebook()
    {
        using var tokenizer = TokenizerTrainer.Create(TokenizerTestKit.Small, seed: 2);
        var parameters = tokenizer.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var images = TokenizerTestKit.Images(8);

        using (var output = tokenizer.forward(images))
        {
            Assert.Equal(images.shape, output.Reconstruction.shape);
            using var recon = nn.functional.mse_loss(output.Reconstruction, images);
            recon.backward();
        }
        // argmax has no gradient: without the straight-through estimator the encoder would get none at all.
        Assert.True(parameters["encoder.0.weight"].grad!.abs().sum().item<float>() > 0);
        // The codebook learns only from the VQ loss.
        Assert.True(parameters["quantizer.codebook"].grad is null || parameters["quantizer.codebook"].grad!.abs().sum().item<float>() == 0);

        tokenizer.zero_grad();
        using (var output = tokenizer.forward(images)) output.VqLoss.backward();
        Assert.True(parameters["quantizer.codebook"].grad!.abs().sum().item<float>() > 0);
    }
}
