using SslOrleans.Core.Models;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Models;

public sealed class VisionTransformerTests
{
    private static VisionTransformer Tiny(int width = 4, int channels = 1, int patch = 4, int image = 8) =>
        (VisionTransformer)new BackboneOptions("vit-tiny", width, channels, PatchSize: patch, ImageSize: image).Create();

    [Fact]
    public void Parameter_count_follows_the_vit_tiny_formula()
    {
        using var vit = Tiny(width: 64, channels: 3, patch: 4, image: 28);
        long d = 192, c = 3, p = 4, n = (28 / 4) * (28 / 4), depth = 12;
        long block = 2 * d               // norm1
                     + d * 3 * d + 3 * d // attn.qkv
                     + d * d + d         // attn.proj
                     + 2 * d             // norm2
                     + d * 4 * d + 4 * d // mlp.fc1
                     + 4 * d * d + d;    // mlp.fc2
        long expected = d                // cls_token
                        + (1 + n) * d    // pos_embed
                        + c * p * p * d + d // patch_embed.proj
                        + depth * block
                        + 2 * d;         // norm
        Assert.Equal(expected, vit.parameters().Sum(t => t.numel()));
        Assert.Equal((192, 49, 192), (vit.EmbedDim, vit.PatchCount, vit.FeatureDim));
    }

    [Fact]
    public void State_dict_keys_are_timms()
    {
        using var vit = Tiny();
        var keys = vit.state_dict().Keys.ToHashSet();
        foreach (var k in new[] { "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
                     "blocks.0.norm1.weight", "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias", "blocks.0.attn.proj.weight",
                     "blocks.5.norm2.bias", "blocks.11.mlp.fc1.weight", "blocks.11.mlp.fc2.bias", "norm.weight", "norm.bias" })
            Assert.Contains(k, keys);
        Assert.Equal(4 + 12 * 12 + 2, keys.Count);
        Assert.Equal(new long[] { 1, 1 + 4, 12 }, vit.state_dict()["pos_embed"].shape);
        Assert.Equal(new long[] { 36, 12 }, vit.state_dict()["blocks.0.attn.qkv.weight"].shape);
    }

    [Fact]
    public void Initialisation_is_timms()
    {
        manual_seed(3);
        using var vit = Tiny(width: 64, image: 28);
        var p = vit.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        Assert.InRange(p["pos_embed"].std().item<float>(), 0.015f, 0.025f);
        Assert.True(p["pos_embed"].abs().max().item<float>() <= 0.04f + 1e-6f); // truncated at ±2σ
        Assert.Equal(0f, p["blocks.3.attn.qkv.bias"].abs().sum().item<float>());
        Assert.Equal(1f, p["blocks.3.norm1.weight"].mean().item<float>());
        // xavier-uniform bound for fc1 (192 → 768): sqrt(6 / (192 + 768))
        Assert.True(p["blocks.3.mlp.fc1.weight"].abs().max().item<float>() <= (float)Math.Sqrt(6.0 / 960) + 1e-6f);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Forward_gives_one_feature_vector_per_image(int channels)
    {
        using var vit = Tiny(width: 4, channels: channels, patch: 4, image: 28);
        using var x = randn(2, channels, 28, 28);
        using var f = vit.forward(x);
        Assert.Equal(new long[] { 2, 12 }, f.shape);
    }

    [Fact]
    public void Images_of_another_size_are_rejected()
    {
        using var vit = Tiny(image: 8);
        using var x = randn(1, 1, 12, 12);
        var e = Assert.Throws<ArgumentException>(() => vit.forward(x));
        Assert.Contains("8, 8", e.Message);
    }

    [Fact]
    public void Encode_takes_any_subset_of_the_patch_tokens()
    {
        using var vit = Tiny(patch: 2, image: 8); // 16 patches
        vit.eval();
        using var x = randn(3, 1, 8, 8);
        using var tokens = vit.EmbedPatches(x);
        Assert.Equal(new long[] { 3, 16, 12 }, tokens.shape);
        using var keep = tensor(new long[] { 0, 5, 9, 15 });
        using var visible = tokens.index_select(1, keep);
        using var encoded = vit.Encode(visible);
        Assert.Equal(new long[] { 3, 1 + 4, 12 }, encoded.shape);
        // With all tokens, Encode's cls output is forward's features.
        using var all = vit.Encode(tokens);
        using var f = vit.forward(x);
        Assert.True(all.select(1, 0).allclose(f, rtol: 1e-5, atol: 1e-6));
        Assert.False(encoded.select(1, 0).allclose(f, rtol: 1e-5, atol: 1e-6)); // the subset changes the cls output
    }

    [Fact]
    public void A_training_step_lowers_the_loss_and_reaches_the_tokens()
    {
        manual_seed(5);
        using var vit = Tiny(width: 4, patch: 4, image: 8);
        using var x = randn(4, 1, 8, 8);
        using var target = randn(4, 12);
        var p = vit.named_parameters().ToDictionary(t => t.name, t => t.parameter);
        using var optimizer = optim.Adam(vit.parameters(), lr: 1e-2);
        float first = 0, last = 0;
        for (int step = 0; step < 20; step++)
        {
            optimizer.zero_grad();
            using var loss = nn.functional.mse_loss(vit.forward(x), target);
            loss.backward();
            if (step == 0)
            {
                first = loss.item<float>();
                Assert.True(p["cls_token"].grad!.abs().sum().item<float>() > 0);
                Assert.True(p["pos_embed"].grad!.abs().sum().item<float>() > 0);
                Assert.True(p["patch_embed.proj.weight"].grad!.abs().sum().item<float>() > 0);
            }
            optimizer.step();
            last = loss.item<float>();
        }
        Assert.True(last < 0.5f * first, $"loss {first} → {last}");
    }
}
