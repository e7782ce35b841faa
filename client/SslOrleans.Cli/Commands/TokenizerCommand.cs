using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data;
using SslOrleans.Core.Tokenizers;
using SslOrleans.Grains.Data;
using TorchSharp;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo tokenizer train: trains the VQ-VAE patch tokenizer that BEiT-style pretraining predicts the tokens of, in this
/// process (no cluster), and writes the tokenizer folder. Progress on stderr, one JSON object as the last stdout line.
/// </summary>
[Verb(80)]
public static class TokenizerCommand
{
    // Codebook use is measured on test images the tokenizer never saw; 1024 images are 50 176 patches at 28×28 / 4.
    private const int HeldOutSamples = 1024;

    public static Command Create() => Sslo.Group("tokenizer", "The image tokenizer of BEiT-style pretraining", TrainCommand());

    private static Command TrainCommand()
    {
        var d = new TokenizerSettings();
        var dataset = Flag.Text("--dataset", "NAME", "The dataset to train on", d.Dataset);
        var data = Flag.Text("--data", "DIR", "The dataset's folder (default: the system locations, Debian's package)");
        var output = Flag.Text("--out", "DIR", "The tokenizer's folder (default: runs/tokenizer-DATASET)");
        var codebook = Flag.PositiveInteger("--codebook", "Codes in the codebook", d.Codebook);
        var patchSize = Flag.PositiveInteger("--patch-size", "Side of a patch (one code each); must divide the image side", d.PatchSize);
        var codeDim = Flag.PositiveInteger("--code-dim", "Width of a code vector", d.CodeDim);
        var hiddenDim = Flag.PositiveInteger("--hidden-dim", "Hidden width of the encoder and decoder", d.HiddenDim);
        var steps = Flag.PositiveInteger("--steps", "Budget in steps (instead of --minutes)");
        var minutes = Flag.PositiveNumber("--minutes", "Budget in minutes of training [default: 2]");
        var batch = Flag.PositiveInteger("--batch", "Images per step", d.Batch);
        var lr = Flag.PositiveNumber("--lr", "Learning rate", d.Lr);
        var seed = Flag.NonNegativeInteger("--seed", "Seed of the initial weights and the batches", d.Seed);
        var force = Flag.Switch("--force", "Replace a tokenizer already in --out");
        var command = new Command("train",
            "Trains the VQ-VAE patch tokenizer of BEiT-style pretraining in this process; writes tokenizer.safetensors + tokenizer.json to --out")
        {
            dataset, data, output, codebook, patchSize, codeDim, hiddenDim, steps, minutes, batch, lr, seed, force,
        };
        command.SetAction(parsed => Train(new TokenizerSettings
        {
            Dataset = parsed.GetValue(dataset)!, Data = parsed.GetValue(data), Out = parsed.GetValue(output),
            Codebook = parsed.GetValue(codebook), PatchSize = parsed.GetValue(patchSize), CodeDim = parsed.GetValue(codeDim), HiddenDim = parsed.GetValue(hiddenDim),
            Steps = parsed.GetValue(steps), Minutes = parsed.GetValue(minutes), Batch = parsed.GetValue(batch), Lr = parsed.GetValue(lr),
            Seed = parsed.GetValue(seed), Force = parsed.GetValue(force),
        }, parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    /// <summary>What sslo tokenizer train takes, with its defaults; <see cref="Out"/> null is runs/tokenizer-DATASET.</summary>
    public sealed record TokenizerSettings
    {
        public string Dataset { get; init; } = "fashion-mnist";
        public string? Data { get; init; }
        public string? Out { get; init; }
        public int Codebook { get; init; } = 512;
        public int PatchSize { get; init; } = 4;
        public int CodeDim { get; init; } = 32;
        public int HiddenDim { get; init; } = 64;
        public int? Steps { get; init; }
        public double? Minutes { get; init; }
        public int Batch { get; init; } = 256;
        public double Lr { get; init; } = 1e-3;
        public int Seed { get; init; }
        public bool Force { get; init; }
    }

    public static int Train(TokenizerSettings settings, TextWriter stdout, TextWriter stderr)
    {
        if (settings.Steps is not null && settings.Minutes is not null) throw new SpecException("tokenizer: give --steps or --minutes, not both");
        settings = settings with { Out = settings.Out ?? $"runs/tokenizer-{settings.Dataset}" };
        var outDir = Path.GetFullPath(settings.Out!);
        // Refused before training, so that a mistyped --out costs nothing.
        if (File.Exists(outDir)) throw new SpecException($"tokenizer: --out {settings.Out} is a file, not a folder");
        bool holdsTokenizer = File.Exists(Path.Combine(outDir, TokenizerCheckpoint.InfoFile)) || File.Exists(Path.Combine(outDir, TokenizerCheckpoint.WeightsFile));
        if (holdsTokenizer && !settings.Force)
            throw new SpecException($"tokenizer: {outDir} already holds a tokenizer; pass --force to replace it or choose another --out");

        // The tokenizer keeps one statistic for every channel (its info file's mean and std): it trains on the datasets
        // held in memory, Fashion-MNIST; image folders and shards are for the methods' pretraining.
        var train = DatasetCatalog.Train(settings.Dataset, settings.Data) as ImageDataset
                    ?? throw new SpecException($"tokenizer: --dataset {settings.Dataset}: the tokenizer trains on fashion-mnist only in this version");
        var heldOut = (ImageDataset)DatasetCatalog.Test(settings.Dataset, settings.Data);
        if (train.Height != train.Width) throw new SpecException($"tokenizer: {train.Name} has {train.Height}×{train.Width} images; the tokenizer wants square ones");
        var options = new TokenizerOptions(settings.Codebook, settings.PatchSize, settings.CodeDim, settings.HiddenDim, train.Channels, train.Height);
        var training = new TokenizerTrainingOptions(settings.Batch, settings.Lr, settings.Seed, settings.Steps, settings.Steps is null ? settings.Minutes ?? 2 : null);
        try
        {
            options.Validate();
            training.Validate();
        }
        catch (ArgumentException e)
        {
            throw new SpecException($"tokenizer: {FlagOf(e.ParamName)}: {e.Message.Split(" (Parameter")[0]}");
        }
        if (settings.Batch > train.Count) throw new SpecException($"tokenizer: --batch {settings.Batch}: {train.Name} has only {train.Count} images");

        // Training has the process to itself: every core goes to libtorch's intra-op pool.
        torch.set_num_threads(Environment.ProcessorCount);
        var budget = settings.Steps is { } steps ? Invariant($"{steps} steps") : Invariant($"{training.Minutes} minutes");
        stderr.WriteLine(
            Invariant($"sslo: training a {options.CodebookSize}-code tokenizer (patch {options.PatchSize}, code dim {options.CodeDim}, hidden {options.HiddenDim}) ") +
            Invariant($"on {train.Name} for {budget}, batch {settings.Batch}, lr {settings.Lr}, seed {settings.Seed}, {torch.get_num_threads()} threads"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = TokenizerTrainer.Train(train, options, training, p =>
        {
            if (p.Step == 1 || p.Step % 10 == 0)
                stderr.WriteLine(Invariant($"sslo: tokenizer step {p.Step}{Of(settings.Steps)}: recon {p.ReconMse:F3} vq {p.VqLoss:F4} codes used {p.CodesUsed}/{options.CodebookSize} perplexity {p.Perplexity:F1}  ETA {ProgressPrinter.Eta(EtaSeconds(p.Step, clock.Elapsed.TotalSeconds, settings.Steps, training.Minutes))}"));
        });
        using var tokenizer = result.Tokenizer;
        var usage = TokenizerTrainer.Measure(tokenizer, heldOut, Math.Min(HeldOutSamples, heldOut.Count), train.Mean, train.Std);
        TokenizerCheckpoint.Save(outDir, tokenizer, new TokenizerTraining(
            train.Name, train.Mean, train.Std, settings.Seed, result.Steps, Math.Round(result.Seconds, 2), result.ReconMseLast, usage));
        stderr.WriteLine(
            Invariant($"sslo: {result.Steps} steps in {result.Seconds:F1} s; on {usage.Samples} held-out images ({heldOut.Name}): recon {usage.ReconMse:F3}, ") +
            Invariant($"codes used {usage.CodesUsed}/{options.CodebookSize}, perplexity {usage.Perplexity:F1}; wrote {outDir}"));

        stdout.WriteLine(JsonSerializer.Serialize(new TokenizerResult(
            outDir, result.Steps, Math.Round(result.Seconds, 2), result.ReconMseFirst, result.ReconMseLast, result.VqLossLast,
            usage.CodesUsed, usage.Perplexity, usage.ReconMse, options.CodebookSize, options.PatchSize), JsonLines.Options));
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

    private static string Of(long? steps) => steps is { } n ? Invariant($"/{n}") : "";

    /// <summary>The seconds left: the remaining steps at the rate so far, or what is left of a minutes budget.</summary>
    internal static double? EtaSeconds(long step, double elapsedSeconds, long? steps, double? minutes) =>
        steps is { } n ? Abstractions.Runs.PhaseProgress.At("tokenizer", step, n, "steps", elapsedSeconds).EtaSeconds
        : minutes is { } m ? Math.Max(0, m * 60 - elapsedSeconds) : null;
}
