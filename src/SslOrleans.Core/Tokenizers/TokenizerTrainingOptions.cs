namespace SslOrleans.Core.Tokenizers;

/// <summary>
/// How <see cref="TokenizerTrainer"/> trains: Adam at <paramref name="LearningRate"/> on batches of
/// <paramref name="BatchSize"/>, for <paramref name="Steps"/> steps or <paramref name="Minutes"/> of wall clock
/// (exactly one; only a step budget gives a run that repeats exactly). <paramref name="Augment"/>: train on
/// crop + flip views, the views a BEiT model hands the tokenizer. <paramref name="RestartEvery"/>: every so many
/// steps, codes no batch used since the last restart are moved onto latents of the current batch (0 = never).
/// </summary>
public sealed record TokenizerTrainingOptions(
    int BatchSize = 256,
    double LearningRate = 1e-3,
    int Seed = 0,
    int? Steps = null,
    double? Minutes = null,
    bool Augment = true,
    int RestartEvery = 20)
{
    public void Validate()
    {
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "batch size must be at least 1");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "learning rate must be a finite number > 0");
        if (Seed < 0) throw new ArgumentOutOfRangeException(nameof(Seed), Seed, "seed must be ≥ 0 (it seeds the epoch order)");
        if (Steps is null == Minutes is null)
            throw new ArgumentException($"give exactly one budget, Steps or Minutes (got Steps {Steps?.ToString() ?? "null"}, Minutes {Minutes?.ToString() ?? "null"})", nameof(Steps));
        if (Steps is < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "steps must be at least 1");
        if (Minutes is { } m && (!(m > 0) || double.IsInfinity(m)))
            throw new ArgumentOutOfRangeException(nameof(Minutes), Minutes, "minutes must be a finite number > 0");
        if (RestartEvery < 0) throw new ArgumentOutOfRangeException(nameof(RestartEvery), RestartEvery, "restart interval must be ≥ 0 (0 = never)");
    }
}

/// <summary>One training step as the progress callback sees it; usage and perplexity are of this step's batch.</summary>
/// <param name="Perplexity">exp(entropy) of the batch's code histogram: the number of equally used codes it equals.</param>
/// <param name="CodesRestarted">Dead codes moved onto batch latents after this step (0 on most steps).</param>
public sealed record TokenizerProgress(int Step, double ReconMse, double VqLoss, int CodesUsed, double Perplexity, int CodesRestarted);

/// <summary>A trained tokenizer (the caller disposes it) and how the training went.</summary>
public sealed record TokenizerTrainingResult(
    VqTokenizer Tokenizer, int Steps, double Seconds, double ReconMseFirst, double ReconMseLast, double VqLossLast, int CodesRestarted);

/// <summary>How a tokenizer does on a fixed set of images: reconstruction MSE (normalised units) and codebook use.</summary>
public sealed record CodebookUsage(int Samples, double ReconMse, int CodesUsed, double Perplexity);
