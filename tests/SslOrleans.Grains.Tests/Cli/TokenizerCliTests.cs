using System.Text.Json;
using SslOrleans.Cli;
using SslOrleans.Core.Tokenizers;
using SslOrleans.Core.Transforms;
using SslOrleans.Grains.Compute;
using SslOrleans.Grains.Data;
using TorchSharp;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>sslo tokenizer train, in this process on real Fashion-MNIST.</summary>
public sealed class TokenizerCliTests
{
    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => SsloInProcess.RunAsync(args);

    private static string TempOut() => Path.Combine(Path.GetTempPath(), "sslo-tokenizer", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Train_writes_the_tokenizer_folder_and_ends_with_one_json_line()
    {
        var outDir = TempOut();
        var (code, stdout, stderr) = await RunAsync("tokenizer", "train", "--steps", "5", "--batch", "32", "--hidden-dim", "16", "--out", outDir);
        Assert.True(code == 0, stderr);
        Assert.Contains("sslo: tokenizer step 1/5: recon ", stderr);
        // Each progress line ends with the time left at the rate so far.
        Assert.Matches(@"sslo: tokenizer step 1/5: .*  ETA \d+:\d\d", stderr);
        Assert.Contains("codes used ", stderr);
        using var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]);
        var r = json.RootElement;
        foreach (var key in new[] { "out", "steps", "seconds", "recon_mse_first", "recon_mse_last", "vq_loss_last", "codes_used", "perplexity", "codebook_size", "patch_size" })
            Assert.True(r.TryGetProperty(key, out _), $"missing {key} in {r}");
        Assert.Equal(outDir, r.GetProperty("out").GetString());
        Assert.Equal(5, r.GetProperty("steps").GetInt32());
        Assert.Equal(512, r.GetProperty("codebook_size").GetInt32());
        Assert.Equal(4, r.GetProperty("patch_size").GetInt32());
        Assert.True(File.Exists(Path.Combine(outDir, "tokenizer.safetensors")));

        var info = TokenizerCheckpoint.ReadInfo(outDir);
        Assert.Equal(new TokenizerOptions(HiddenDim: 16), info.Options);
        Assert.Equal(5, info.Training.Steps);
        Assert.Equal("fashion-mnist/train", info.Training.Dataset);
        Assert.Equal(r.GetProperty("codes_used").GetInt32(), info.Training.HeldOut.CodesUsed);
        using var tokenizer = TokenizerCheckpoint.Load(outDir);
        Assert.Equal(49, tokenizer.PatchCount);

        // codes_used and perplexity are the written tokenizer's use of its codebook on the first 1024 test images:
        // its codes of them (VqTokenizer.Codes, as BEiT asks for them), counted here.
        var counts = await HeldOutCodeCountsAsync(tokenizer, 1024, info.Training.Mean, info.Training.Std);
        Assert.Equal(1024L * 49, counts.Sum());
        int used = counts.Count(c => c > 0);
        double total = counts.Sum(), perplexity = Math.Exp(-counts.Where(c => c > 0).Sum(c => c / total * Math.Log(c / total)));
        Assert.Equal(used, r.GetProperty("codes_used").GetInt32());
        Assert.Equal(perplexity, r.GetProperty("perplexity").GetDouble(), 1e-12 * perplexity);
        Assert.InRange(perplexity, 1, used); // exp(entropy) of a histogram over `used` codes

        // An existing tokenizer is not overwritten without --force, and nothing is trained first.
        (code, stdout, stderr) = await RunAsync("tokenizer", "train", "--steps", "5", "--batch", "32", "--hidden-dim", "16", "--out", outDir);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(outDir, stderr);
        Assert.Contains("--force", stderr);
        Assert.DoesNotContain("step 1", stderr);

        (code, _, stderr) = await RunAsync("tokenizer", "train", "--steps", "2", "--batch", "32", "--hidden-dim", "8", "--codebook", "64", "--out", outDir, "--force");
        Assert.True(code == 0, stderr);
        Assert.Equal(64, TokenizerCheckpoint.ReadInfo(outDir).Options.CodebookSize);
        Directory.Delete(outDir, recursive: true);
    }

    /// <summary>How often each code is the tokenizer's code of a patch of the first <paramref name="samples"/> test images,
    /// in chunks of 256 on a thread with every core, as `sslo tokenizer train` measures them.</summary>
    private static async Task<long[]> HeldOutCodeCountsAsync(VqTokenizer tokenizer, int samples, float mean, float std)
    {
        using var compute = new ComputeThread("test-codes");
        return await compute.RunAsync(() =>
        {
            torch.set_num_threads(Environment.ProcessorCount);
            var test = DatasetCatalog.Test("fashion-mnist", null);
            var counts = new long[tokenizer.CodebookSize];
            for (int start = 0; start < samples; start += 256)
            {
                using var scope = torch.NewDisposeScope();
                var images = ViewTransform.Normalize(test.ToTensor(Enumerable.Range(start, Math.Min(256, samples - start)).ToArray()), [mean], [std]);
                foreach (var code in tokenizer.Codes(images).data<long>()) counts[code]++;
            }
            return counts;
        });
    }

    [Fact]
    public async Task Bad_flags_are_named_with_exit_code_2()
    {
        var outDir = TempOut();
        var (code, stdout, err) = await RunAsync("tokenizer", "train", "--stpes", "5", "--out", outDir);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("unknown flag '--stpes'", err);

        (code, _, err) = await RunAsync("tokenizer", "train", "--batch", "0", "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("--batch wants a positive integer, got '0'", err);

        (code, _, err) = await RunAsync("tokenizer", "train", "--steps", "5", "--minutes", "1", "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("--steps or --minutes", err);

        (code, _, err) = await RunAsync("tokenizer", "train", "--patch-size", "5", "--steps", "1", "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("--patch-size", err);
        Assert.Contains("must divide ImageSize 28", err);

        (code, _, err) = await RunAsync("tokenizer", "train", "--dataset", "mnist", "--steps", "1", "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("dataset 'mnist' is unknown", err);
        Assert.False(Directory.Exists(outDir));
    }

    [Theory]
    [InlineData(5L, null, 10.0, 20L, 30.0)]   // 5 of 20 steps in 10 s: 15 more at 2 s each
    [InlineData(0L, null, 1.0, 20L, null)]    // no step yet: no rate to go by
    [InlineData(7L, 2.0, 30.0, null, 90.0)]   // a two-minute budget, 30 s gone
    [InlineData(7L, 2.0, 150.0, null, 0.0)]   // past the budget: the step in progress ends it
    public void The_tokenizer_eta_is_the_rest_at_the_rate_so_far_or_what_is_left_of_the_minutes(long step, double? minutes, double elapsed, long? steps, double? eta) =>
        Assert.Equal(eta, SslOrleans.Cli.Commands.TokenizerCommand.EtaSeconds(step, elapsed, steps, minutes));
}
