using System.Text.Json.Nodes;
using SslOrleans.Core.Tests.Data;
using SslOrleans.Core.Tokenizers;

namespace SslOrleans.Core.Tests.Tokenizers;

public sealed class TokenizerCheckpointTests
{
    private static readonly TokenizerOptions Tiny = new(CodebookSize: 64, HiddenDim: 16, CodeDim: 8);

    private static TokenizerInfo SaveTrained(string folder, out VqTokenizer tokenizer)
    {
        var result = TokenizerTestKit.Trained(steps: 5, batch: 32, options: Tiny);
        tokenizer = result.Tokenizer;
        var data = TokenizerTestKit.Train;
        var heldOut = TokenizerTrainer.Measure(tokenizer, TokenizerTestKit.Test, 64, data.Mean, data.Std);
        return TokenizerCheckpoint.Save(folder, tokenizer, new TokenizerTraining(
            data.Name, data.Mean, data.Std, 0, result.Steps, result.Seconds, result.ReconMseLast, heldOut));
    }

    [Fact]
    public void Save_and_load_give_identical_codes()
    {
        using var dir = new TempDirectory();
        var folder = Path.Combine(dir.Path, "tok");
        var saved = SaveTrained(folder, out var trained);
        using (trained)
        using (var loaded = TokenizerCheckpoint.Load(folder))
        using (var images = TokenizerTestKit.Images(64, start: 1000))
        using (var expected = trained.Codes(images))
        using (var actual = loaded.Codes(images))
        {
            Assert.True(TokenizerTestKit.Identical(actual, expected));
            Assert.False(loaded.training);
            Assert.Equal(Tiny, loaded.Options);
        }

        var info = TokenizerCheckpoint.ReadInfo(folder);
        Assert.Equal(saved, info);
        Assert.Equal(TokenizerCheckpoint.FormatVersion, info.FormatVersion);
        Assert.Equal("fashion-mnist/train", info.Training.Dataset);
        Assert.Equal(5, info.Training.Steps);
        Assert.Equal(64, info.Training.HeldOut.Samples);
        Assert.Equal(new FileInfo(Path.Combine(folder, TokenizerCheckpoint.WeightsFile)).Length, info.Weights.Bytes);
        Assert.Equal(["tokenizer.json", "tokenizer.safetensors"], Directory.GetFiles(folder).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void A_corrupted_weights_file_is_named()
    {
        using var dir = new TempDirectory();
        SaveTrained(dir.Path, out var trained);
        trained.Dispose();
        var weights = Path.Combine(dir.Path, TokenizerCheckpoint.WeightsFile);
        var bytes = File.ReadAllBytes(weights);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<InvalidDataException>(() => TokenizerCheckpoint.Load(dir.Path));
        Assert.Contains(weights, e.Message);
        Assert.Contains("sha256", e.Message);
    }

    [Fact]
    public void Options_that_do_not_fit_the_weights_are_named()
    {
        using var dir = new TempDirectory();
        SaveTrained(dir.Path, out var trained);
        trained.Dispose();
        var json = Path.Combine(dir.Path, TokenizerCheckpoint.InfoFile);
        var node = JsonNode.Parse(File.ReadAllText(json))!;
        node["options"]!["codebook_size"] = 128;
        File.WriteAllText(json, node.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => TokenizerCheckpoint.Load(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, TokenizerCheckpoint.WeightsFile), e.Message);
        Assert.Contains("quantizer.codebook", e.Message);

        File.WriteAllText(json, "{ not json");
        e = Assert.Throws<InvalidDataException>(() => TokenizerCheckpoint.ReadInfo(dir.Path));
        Assert.Contains(json, e.Message);
    }

    [Fact]
    public void A_missing_folder_says_how_to_make_one()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-tokenizer-" + Guid.NewGuid().ToString("N"));
        var e = Assert.Throws<FileNotFoundException>(() => TokenizerCheckpoint.Load(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains($"sslo tokenizer train --out {missing}", e.Message);

        using var dir = new TempDirectory();
        e = Assert.Throws<FileNotFoundException>(() => TokenizerCheckpoint.ReadInfo(dir.Path));
        Assert.Contains(Path.Combine(dir.Path, TokenizerCheckpoint.InfoFile), e.Message);
    }
}
