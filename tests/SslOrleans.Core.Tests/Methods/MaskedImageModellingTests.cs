using SslOrleans.Core.Data;
using SslOrleans.Core.Masking;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Methods.Beit;
using SslOrleans.Core.Methods.Mae;
using SslOrleans.Core.Models;
using SslOrleans.Core.Tokenizers;
using SslOrleans.Core.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Methods;

public sealed class MaskedImageModellingTests
{
    private static Tensor Images(int n) => FashionMnist.LoadTrainCached(null).ToTensor(Enumerable.Range(0, n).ToArray());

    /// <summary>The images with every masked patch overwritten by noise.</summary>
    private static Tensor ScrambleMasked(Tensor images, PatchMask mask, int patch)
    {
        var patches = Patches.Patchify(images, patch).clone();
        var noise = rand(patches.shape);
        var m = mask.ToTensor().unsqueeze(-1);
        return Patches.Unpatchify(patches * (1 - m) + noise * m, patch, (int)images.shape[1]);
    }

    [Fact]
    public void The_mae_encoder_never_sees_masked_patches()
    {
        using var scope = NewDisposeScope();
        using var method = (MaeMethod)MethodRegistry.Create(MethodTestKit.Tiny("mae"));
        var model = (MaskedAutoencoder)method.Online;
        var x = Images(4);
        var mask = RandomMasking.Sample(4, 16, 0.75, seed: 1);
        var a = model.Reconstruct(x, mask);
        var b = model.Reconstruct(ScrambleMasked(x, mask, 7), mask);
        Assert.Equal(new long[] { 4, 16, 49 }, a.shape);
        Assert.True(allclose(a, b, rtol: 0, atol: 1e-6), "the prediction changed with the content of masked patches");
        // ... while a visible patch does matter.
        var visible = RandomMasking.Sample(4, 16, 0.75, seed: 2);
        Assert.False(allclose(a, model.Reconstruct(x, visible), rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void Beit_replaces_masked_patches_by_the_mask_token()
    {
        using var scope = NewDisposeScope();
        using var method = (BeitMethod)MethodRegistry.Create(MethodTestKit.Tiny("beit"));
        var model = (BeitModel)method.Online;
        var x = Images(4);
        var mask = BlockMasking.Sample(4, 4, 0.4, seed: 1);
        var a = model.MaskedLogits(x, mask);
        Assert.Equal(new long[] { 4, mask.MaskedPerSample, 64 }, a.shape);
        Assert.True(allclose(a, model.MaskedLogits(ScrambleMasked(x, mask, 7), mask), rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void Mae_and_beit_pool_the_patch_tokens()
    {
        using var mae = MethodRegistry.Create(MethodTestKit.Tiny("mae"));
        var vit = (VisionTransformer)mae.Backbone;
        using var scope = NewDisposeScope();
        var x = Images(2);
        var encoded = vit.Encode(vit.EmbedPatches(x));
        var expected = encoded.narrow(1, 1, 16).mean([1]);
        Assert.True(allclose(vit.forward(x), expected, rtol: 1e-5, atol: 1e-6));
        // Contrastive methods on a ViT keep the cls token.
        using var simclr = MethodRegistry.Create(MethodTestKit.Tiny("mae") with { Method = "simclr" });
        var cls = (VisionTransformer)simclr.Backbone;
        Assert.True(allclose(cls.forward(x), cls.Encode(cls.EmbedPatches(x)).select(1, 0)));
    }

    [Fact]
    public void Mae_state_dict_uses_maes_names_and_keeps_the_sine_cosine_positions_out_of_training()
    {
        using var method = MethodRegistry.Create(MethodTestKit.Tiny("mae"));
        var keys = method.Online.state_dict().Keys.ToList();
        foreach (var key in new[] { "mask_token", "decoder_embed.weight", "decoder_pos_embed", "decoder_blocks.0.attn.qkv.weight", "decoder_blocks.1.mlp.fc2.bias",
                     "decoder_norm.weight", "decoder_pred.weight", "backbone.pos_embed", "backbone.blocks.11.norm2.bias" })
            Assert.Contains(key, keys);
        Assert.DoesNotContain(method.Online.named_parameters(), p => p.name == "decoder_pos_embed");
        var layout = ModelLayout.Of(method.Online, null, null);
        Assert.Contains(layout.Buffers, b => b.Name == "decoder_pos_embed");
        // decoder_pred maps to one patch: 7·7·1 values.
        Assert.Equal(new long[] { 49, 16 }, method.Online.state_dict()["decoder_pred.weight"].shape);
    }

    [Fact]
    public void Beit_without_a_tokenizer_says_how_to_make_one()
    {
        var e = Assert.Throws<ArgumentException>(() => MethodRegistry.Create(MethodTestKit.Tiny("beit") with { Tokenizer = null }));
        Assert.Contains("sslo tokenizer train", e.Message);
        Assert.Contains("--tokenizer", e.Message);
    }

    [Fact]
    public void A_tokenizer_with_other_patches_than_the_backbone_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => MethodRegistry.Create(MethodTestKit.Tiny("beit") with { Tokenizer = () => new ProjectionTokenizer(64, 4) }));
        Assert.Contains("4×4 patches", e.Message);
        Assert.Contains("7×7 patches", e.Message);
    }

    [Theory]
    [InlineData("mae")]
    [InlineData("beit")]
    public void Masked_image_modelling_needs_a_vision_transformer(string method)
    {
        var e = Assert.Throws<ArgumentException>(() => MethodRegistry.Create(MethodTestKit.Tiny(method) with { Backbone = new BackboneOptions("resnet18", 4, 1) }));
        Assert.Contains("vision transformer", e.Message);
    }

    [Fact]
    public void Beit_with_a_trained_vq_tokenizer_lowers_its_loss_in_twenty_steps()
    {
        var data = FashionMnist.LoadTrainCached(null);
        var dir = Path.Combine(Path.GetTempPath(), "sslo-beit-tok-" + Guid.NewGuid().ToString("N"));
        try
        {
            var trained = TokenizerTrainer.Train(data, new TokenizerOptions(CodebookSize: 64, PatchSize: 7, CodeDim: 8, HiddenDim: 16),
                new TokenizerTrainingOptions(BatchSize: 64, Steps: 30));
            using (var tokenizer = trained.Tokenizer)
                TokenizerCheckpoint.Save(dir, tokenizer, new TokenizerTraining(data.Name, data.Mean, data.Std, 0, trained.Steps, trained.Seconds, trained.ReconMseLast,
                    TokenizerTrainer.Measure(tokenizer, data, 64, data.Mean, data.Std)));
            using var replica = new Replica(MethodTestKit.Tiny("beit") with { Tokenizer = () => TokenizerCheckpoint.Load(dir) });
            Assert.Equal(64, ((BeitMethod)replica.Method).CodebookSize);
            var batches = MethodTestKit.Batches(2, 16);
            var losses = Enumerable.Range(0, 20).Select(_ => MethodTestKit.Step(replica, batches, data, lr: 0.05)).ToList();
            Assert.True(losses.TakeLast(3).Average() < 0.95 * losses.Take(3).Average(), $"loss did not fall: {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("mae")]
    [InlineData("beit")]
    public void A_step_leaves_no_live_tensors_behind(string method)
    {
        var data = FashionMnist.LoadTrainCached(null);
        using var replica = new Replica(MethodTestKit.Tiny(method), probeClasses: 10);
        var batches = MethodTestKit.Batches(2, 8);
        replica.ComputeGradients(batches, data);
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++) replica.ComputeGradients(batches, data);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
