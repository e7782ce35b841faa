using SslOrleans.Core.Tokenizers;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Tokenizers;

public sealed class TokenizerTrainerTests
{
    [Fact]
    public void Reconstruction_error_falls_within_50_steps()
    {
        var recon = new List<double>();
        var result = TokenizerTrainer.Train(TokenizerTestKit.Train, TokenizerTestKit.Small,
            new TokenizerTrainingOptions(BatchSize: 64, Steps: 50), p => recon.Add(p.ReconMse));
        using var tokenizer = result.Tokenizer;
        Assert.Equal(50, result.Steps);
        Assert.Equal(Enumerable.Range(1, 50), Enumerable.Range(1, recon.Count));
        double first = recon.Take(5).Average(), last = recon.TakeLast(5).Average();
        Assert.True(last < 0.7 * first, $"reconstruction MSE {first:F3} over the first 5 steps, {last:F3} over the last 5");
        Assert.Equal(recon[0], result.ReconMseFirst);
        Assert.Equal(recon[^1], result.ReconMseLast);
        Assert.False(tokenizer.training);
    }

    [Fact]
    public void Dead_code_restarts_keep_more_of_the_codebook_in_use()
    {
        var test = TokenizerTestKit.Test;
        var train = TokenizerTestKit.Train;
        CodebookUsage Usage(int restartEvery, out int restarted)
        {
            var result = TokenizerTestKit.Trained(steps: 50, restartEvery: restartEvery);
            using var tokenizer = result.Tokenizer;
            restarted = result.CodesRestarted;
            return TokenizerTrainer.Measure(tokenizer, test, 1024, train.Mean, train.Std);
        }

        var without = Usage(restartEvery: 0, out int none);
        var with = Usage(restartEvery: 10, out int restarted);
        Assert.Equal(0, none);
        Assert.True(restarted > 0);
        // Without restarts a few codes win every patch (about 20 of 512 here); restarts keep several times more in use.
        Assert.True(with.CodesUsed > 3 * without.CodesUsed, $"codes used on 1024 test images: {with.CodesUsed} with restarts, {without.CodesUsed} without");
        Assert.True(with.Perplexity > 2 * without.Perplexity, $"perplexity {with.Perplexity:F1} with restarts, {without.Perplexity:F1} without");
    }

    [Fact]
    public void The_same_seed_gives_the_same_weights()
    {
        var options = new TokenizerOptions(CodebookSize: 64, HiddenDim: 16);
        Dictionary<string, Tensor> Weights(int seed)
        {
            using var tokenizer = TokenizerTestKit.Trained(steps: 8, seed: seed, restartEvery: 3, batch: 32, options: options).Tokenizer;
            return tokenizer.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
        }

        var a = Weights(5);
        var b = Weights(5);
        var c = Weights(6);
        Assert.All(a, p => Assert.True(TokenizerTestKit.Identical(p.Value, b[p.Key]), $"{p.Key} differs between two runs with seed 5"));
        Assert.False(TokenizerTestKit.Identical(a["quantizer.codebook"], c["quantizer.codebook"]));
    }

    [Fact]
    public void Bad_budgets_and_datasets_are_named()
    {
        var data = TokenizerTestKit.Train;
        Assert.Equal("Steps", Assert.Throws<ArgumentException>(() => TokenizerTrainer.Train(data, TokenizerTestKit.Small, new TokenizerTrainingOptions())).ParamName);
        Assert.Equal("Steps", Assert.Throws<ArgumentException>(() => TokenizerTrainer.Train(data, TokenizerTestKit.Small, new TokenizerTrainingOptions(Steps: 1, Minutes: 1))).ParamName);
        var e = Assert.Throws<ArgumentException>(() => TokenizerTrainer.Train(data, TokenizerTestKit.Small with { ImageSize = 32 }, new TokenizerTrainingOptions(Steps: 1)));
        Assert.Contains("1×28×28", e.Message);
        Assert.Contains("1×32×32", e.Message);
    }

    [Fact]
    public void Perplexity_counts_equally_used_codes()
    {
        Assert.Equal(1, TokenizerTrainer.Perplexity([0, 7, 0]), 12);
        Assert.Equal(4, TokenizerTrainer.Perplexity([3, 3, 0, 3, 3]), 12);
    }
}
