using System.Globalization;
using System.Text.Json;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Tokenizers;
using SslOrleans.Grains.Data;
using TorchSharp;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo tokenizer train: trains the VQ-VAE patch tokenizer that BEiT-style pretraining predicts the tokens of, in this
/// process (no cluster), and writes the tokenizer folder. Progress on stderr, one JSON object as the last stdout line.
/// </summary>
public static class TokenizerCommand
{
    public const string Usage =
        "usage: sslo tokenizer train [--dataset fashion-mnist] [--data DIR] [--out DIR] [--codebook 512] [--patch-size 4] [--code-dim 32] " +
        "[--hidden-dim 64] [--steps N | --minutes M] [--batch 256] [--lr 1e-3] [--seed 0] [--force]";

    // Codebook use is measured on test images the tokenizer never saw; 1024 images are 50 176 patches at 28×28 / 4.
    private const int HeldOutSamples = 1024;

    public static int Train(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var flags = TokenizerFlags.Parse(args);
        var outDir = Path.GetFullPath(flags.Out);
        // Refused before training, so that a mistyped --out costs nothing.
        if (File.Exists(outDir)) throw new SpecException($"tokenizer: --out {flags.Out} is a file, not a folder");
        bool holdsTokenizer = File.Exists(Path.Combine(outDir, TokenizerCheckpoint.InfoFile)) || File.Exists(Path.Combine(outDir, TokenizerCheckpoint.WeightsFile));
        if (holdsTokenizer && !flags.Force)
            throw new SpecException($"tokenizer: {outDir} already holds a tokenizer; pass --force to replace it or choose another --out");

        var train = DatasetCatalog.Train(flags.Dataset, flags.Data);
        var heldOut = DatasetCatalog.Test(flags.Dataset, flags.Data);
        if (train.Height != train.Width) throw new SpecException($"tokenizer: {train.Name} has {train.Height}×{train.Width} images; the tokenizer wants square ones");
        var options = new TokenizerOptions(flags.Codebook, flags.PatchSize, flags.CodeDim, flags.HiddenDim, train.Channels, train.Height);
        var training = new TokenizerTrainingOptions(flags.Batch, flags.Lr, flags.Seed, flags.Steps, flags.Steps is null ? flags.Minutes ?? 2 : null);
        try
        {
            options.Validate();
            training.Validate();
        }
        catch (ArgumentException e)
        {
            throw new SpecException($"tokenizer: {FlagOf(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}");
        }
        if (flags.Batch > train.Count) throw new SpecException($"tokenizer: --batch {flags.Batch}: {train.Name} has only {train.Count} images");

        // Training has the process to itself: every core goes to libtorch's intra-op pool.
        torch.set_num_threads(Environment.ProcessorCount);
        var budget = flags.Steps is { } steps ? Invariant($"{steps} steps") : Invariant($"{training.Minutes} minutes");
        stderr.WriteLine(
            Invariant($"sslo: training a {options.CodebookSize}-code tokenizer (patch {options.PatchSize}, code dim {options.CodeDim}, hidden {options.HiddenDim}) ") +
            Invariant($"on {train.Name} for {budget}, batch {flags.Batch}, lr {flags.Lr}, seed {flags.Seed}, {torch.get_num_threads()} threads"));
        var result = TokenizerTrainer.Train(train, options, training, p =>
        {
            if (p.Step == 1 || p.Step % 10 == 0)
                stderr.WriteLine(Invariant($"sslo: tokenizer step {p.Step}: recon {p.ReconMse:F3} vq {p.VqLoss:F4} codes used {p.CodesUsed}/{options.CodebookSize} perplexity {p.Perplexity:F1}"));
        });
        using var tokenizer = result.Tokenizer;
        var usage = TokenizerTrainer.Measure(tokenizer, heldOut, Math.Min(HeldOutSamples, heldOut.Count), train.Mean, train.Std);
        TokenizerCheckpoint.Save(outDir, tokenizer, new TokenizerTraining(
            train.Name, train.Mean, train.Std, flags.Seed, result.Steps, Math.Round(result.Seconds, 2), result.ReconMseLast, usage));
        stderr.WriteLine(
            Invariant($"sslo: {result.Steps} steps in {result.Seconds:F1} s; on {usage.Samples} held-out images ({heldOut.Name}): recon {usage.ReconMse:F3}, ") +
            Invariant($"codes used {usage.CodesUsed}/{options.CodebookSize}, perplexity {usage.Perplexity:F1}; wrote {outDir}"));

        stdout.WriteLine(JsonSerializer.Serialize(new TokenizerResult(
            outDir, result.Steps, Math.Round(result.Seconds, 2), result.ReconMseFirst, result.ReconMseLast, result.VqLossLast,
            usage.CodesUsed, usage.Perplexity, usage.ReconMse, options.CodebookSize, options.PatchSize), PretrainCommand.Json));
        return 0;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string FlagOf(string? option) => option switch
    {
        nameof(TokenizerOptions.CodebookSize) => "--codebook",
        nameof(TokenizerOptions.PatchSize) => "--patch-size",
        nameof(TokenizerOptions.CodeDim) => "--code-dim",
        nameof(TokenizerOptions.HiddenDim) => "--hidden-dim",
        nameof(TokenizerTrainingOptions.BatchSize) => "--batch",
        nameof(TokenizerTrainingOptions.LearningRate) => "--lr",
        nameof(TokenizerTrainingOptions.Steps) => "--steps",
        nameof(TokenizerTrainingOptions.Minutes) => "--minutes",
        nameof(TokenizerTrainingOptions.Seed) => "--seed",
        _ => option ?? "options",
    };

    /// <summary>
    /// The result line; snake_case keys. codes_used, perplexity and held_out_recon_mse are measured on held-out test
    /// images, recon_mse_first/last and vq_loss_last on the first and last training batch.
    /// </summary>
    public sealed record TokenizerResult(
        string Out, int Steps, double Seconds, double ReconMseFirst, double ReconMseLast, double VqLossLast,
        int CodesUsed, double Perplexity, double HeldOutReconMse, int CodebookSize, int PatchSize);

    private sealed record TokenizerFlags(
        string Dataset, string? Data, string Out, int Codebook, int PatchSize, int CodeDim, int HiddenDim,
        int? Steps, double? Minutes, int Batch, double Lr, int Seed, bool Force)
    {
        private static readonly string[] Valued =
            ["dataset", "data", "out", "codebook", "patch-size", "code-dim", "hidden-dim", "steps", "minutes", "batch", "lr", "seed"];

        public static TokenizerFlags Parse(IReadOnlyList<string> args)
        {
            var f = CommandFlags.Parse(args, "tokenizer", Usage, Valued, ["force"]);
            if (f.Has("steps") && f.Has("minutes"))
                throw new SpecException("tokenizer: give --steps or --minutes, not both");
            var dataset = f.Text("dataset") ?? "fashion-mnist";
            return new TokenizerFlags(
                dataset, f.Text("data"), f.Text("out") ?? $"runs/tokenizer-{dataset}",
                f.PositiveInteger("codebook") ?? 512, f.PositiveInteger("patch-size") ?? 4, f.PositiveInteger("code-dim") ?? 32, f.PositiveInteger("hidden-dim") ?? 64,
                f.PositiveInteger("steps"), f.PositiveNumber("minutes"),
                f.PositiveInteger("batch") ?? 256, f.PositiveNumber("lr") ?? 1e-3, f.NonNegativeInteger("seed") ?? 0, f.Switch("force"));
        }
    }
}
