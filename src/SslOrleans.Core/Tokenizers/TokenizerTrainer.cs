using System.Diagnostics;
using SslOrleans.Core.Data;
using SslOrleans.Core.Training;
using SslOrleans.Core.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tokenizers;

/// <summary>
/// Trains a <see cref="VqTokenizer"/> in this process: loss = MSE(reconstruction, normalised view) + VQ loss, Adam.
/// Codebook collapse is the failure mode of VQ-VAEs (a few codes win every patch, the rest never move), so the
/// codebook starts on latents of the first batch, and codes that no batch chose for <see cref="TokenizerTrainingOptions.RestartEvery"/>
/// steps are moved onto random latents of the current batch. All randomness is seeded: weights by the seed,
/// sample order by <see cref="EpochOrder"/>, views and restarts by <see cref="DeterministicRandom"/>.
/// </summary>
public static class TokenizerTrainer
{
    // Salts that keep the view, codebook-init and restart streams of one step apart.
    private const long ViewSalt = 1, InitSalt = 2, RestartSalt = 3;

    /// <summary>A tokenizer whose initial weights depend only on <paramref name="seed"/>.</summary>
    public static VqTokenizer Create(TokenizerOptions options, int seed)
    {
        // Module initialisation draws from libtorch's global generator, which methods seed too: one lock for all.
        return SeededConstruction.Seeded(seed, () => new VqTokenizer(options));
    }

    public static TokenizerTrainingResult Train(
        ImageDataset data, TokenizerOptions options, TokenizerTrainingOptions training, Action<TokenizerProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(training);
        options.Validate();
        training.Validate();
        CheckDataset(data, options);
        if (training.BatchSize > data.Count)
            throw new ArgumentOutOfRangeException(nameof(training), training.BatchSize, $"batch size {training.BatchSize} is larger than {data.Name} ({data.Count} images)");

        var clock = Stopwatch.StartNew();
        var tokenizer = Create(options, training.Seed);
        try
        {
            tokenizer.train();
            using var optimizer = optim.Adam(tokenizer.parameters(), training.LearningRate);
            var usedSinceRestart = new bool[options.CodebookSize];
            int batchesPerEpoch = data.Count / training.BatchSize, epoch = -1, step = 0, restarted = 0;
            int[] order = [];
            double reconFirst = double.NaN, reconLast = double.NaN, vqLast = double.NaN;
            while (training.Steps is { } steps ? step < steps : clock.Elapsed.TotalMinutes < training.Minutes!.Value)
            {
                if (step / batchesPerEpoch != epoch)
                {
                    epoch = step / batchesPerEpoch;
                    order = EpochOrder.Permutation(data.Count, training.Seed, epoch);
                }
                var indices = order.AsSpan(step % batchesPerEpoch * training.BatchSize, training.BatchSize);

                using var scope = NewDisposeScope();
                var views = View(data, indices, training, step);
                if (step == 0) InitialiseCodebook(tokenizer, views, training.Seed);
                using var output = tokenizer.forward(views);
                var recon = nn.functional.mse_loss(output.Reconstruction, views);
                var loss = recon.Plus(output.VqLoss);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();

                var (used, perplexity) = Usage(output.Codes, options.CodebookSize, usedSinceRestart);
                int restartedNow = 0;
                if (training.RestartEvery > 0 && (step + 1) % training.RestartEvery == 0)
                {
                    restartedNow = RestartDeadCodes(tokenizer, output.Latents, usedSinceRestart, DeterministicRandom.Mix(training.Seed, step, RestartSalt));
                    Array.Clear(usedSinceRestart);
                    restarted += restartedNow;
                }
                reconLast = recon.item<float>();
                vqLast = output.VqLoss.item<float>();
                if (step == 0) reconFirst = reconLast;
                step++;
                progress?.Invoke(new TokenizerProgress(step, reconLast, vqLast, used, perplexity, restartedNow));
            }
            tokenizer.eval();
            return new TokenizerTrainingResult(tokenizer, step, clock.Elapsed.TotalSeconds, reconFirst, reconLast, vqLast, restarted);
        }
        catch
        {
            tokenizer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reconstruction MSE and codebook use of <paramref name="tokenizer"/> on the first <paramref name="samples"/> images of
    /// <paramref name="data"/>, normalised with the training set's <paramref name="mean"/> and <paramref name="std"/>, no augmentation.
    /// </summary>
    public static CodebookUsage Measure(VqTokenizer tokenizer, ImageDataset data, int samples, float mean, float std)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(data);
        CheckDataset(data, tokenizer.Options);
        if (samples < 1 || samples > data.Count)
            throw new ArgumentOutOfRangeException(nameof(samples), samples, $"{data.Name} has {data.Count} images; measure 1..{data.Count} of them");

        bool wasTraining = tokenizer.training;
        tokenizer.eval();
        try
        {
            using var noGrad = no_grad();
            var counts = new long[tokenizer.CodebookSize];
            double squaredErrors = 0;
            const int Chunk = 256;
            for (int start = 0; start < samples; start += Chunk)
            {
                using var scope = NewDisposeScope();
                var indices = Enumerable.Range(start, Math.Min(Chunk, samples - start)).ToArray();
                var images = ViewTransform.Normalize(data.ToTensor(indices), [mean], [std]);
                using var output = tokenizer.forward(images);
                squaredErrors += nn.functional.mse_loss(output.Reconstruction, images, nn.Reduction.Sum).item<float>();
                var batchCounts = output.Codes.flatten().bincount(null, tokenizer.CodebookSize).data<long>().ToArray();
                for (int k = 0; k < counts.Length; k++) counts[k] += batchCounts[k];
            }
            double pixels = (double)samples * data.Channels * data.Height * data.Width;
            return new CodebookUsage(samples, squaredErrors / pixels, counts.Count(c => c > 0), Perplexity(counts));
        }
        finally
        {
            if (wasTraining) tokenizer.train();
        }
    }

    private static void CheckDataset(ImageDataset data, TokenizerOptions options)
    {
        if (data.Channels != options.Channels || data.Height != options.ImageSize || data.Width != options.ImageSize)
            throw new ArgumentException(
                $"{data.Name} has {data.Channels}×{data.Height}×{data.Width} images; the tokenizer takes {options.Channels}×{options.ImageSize}×{options.ImageSize}",
                nameof(data));
    }

    private static Tensor View(ImageDataset data, ReadOnlySpan<int> indices, TokenizerTrainingOptions training, int step)
    {
        var images = data.ToTensor(indices);
        return training.Augment
            ? ViewTransform.Apply(images, ViewRecipe.CropFlip, DeterministicRandom.Mix(training.Seed, step, ViewSalt), data.Stats.Mean, data.Stats.Std)
            : ViewTransform.Normalize(images, data.Stats.Mean, data.Stats.Std);
    }

    // A random codebook on the sphere sits mostly where no latent is; codes copied from real latents all start in use.
    private static void InitialiseCodebook(VqTokenizer tokenizer, Tensor views, int seed)
    {
        using var noGrad = no_grad();
        using var output = tokenizer.forward(views);
        var latents = output.Latents;
        long k = tokenizer.CodebookSize, m = latents.shape[0];
        var rng = new DeterministicRandom(DeterministicRandom.Mix(seed, 0, InitSalt));
        // Without replacement when the batch has enough latents (a partial Fisher–Yates), else with replacement.
        var pool = Enumerable.Range(0, (int)m).Select(i => (long)i).ToArray();
        var rows = new long[k];
        for (int i = 0; i < k; i++)
        {
            if (k <= m)
            {
                int j = i + (int)(rng.NextDouble() * (m - i));
                (pool[i], pool[j]) = (pool[j], pool[i]);
                rows[i] = pool[i];
            }
            else rows[i] = (long)(rng.NextDouble() * m);
        }
        using var index = tensor(rows);
        using var chosen = latents.index_select(0, index);
        tokenizer.Quantizer.Codebook.copy_(chosen);
    }

    private static int RestartDeadCodes(VqTokenizer tokenizer, Tensor latents, bool[] usedSinceRestart, ulong seed)
    {
        var dead = Enumerable.Range(0, usedSinceRestart.Length).Where(i => !usedSinceRestart[i]).Select(i => (long)i).ToArray();
        if (dead.Length == 0) return 0;
        var rng = new DeterministicRandom(seed);
        long m = latents.shape[0];
        var rows = dead.Select(_ => (long)(rng.NextDouble() * m)).ToArray();
        using var noGrad = no_grad();
        using var deadIndex = tensor(dead);
        using var rowIndex = tensor(rows);
        using var chosen = latents.detach().index_select(0, rowIndex);
        tokenizer.Quantizer.Codebook.index_copy_(0, deadIndex, chosen);
        return dead.Length;
    }

    // Codes used in this batch and the batch's perplexity; marks them used since the last restart.
    private static (int Used, double Perplexity) Usage(Tensor codes, int codebookSize, bool[] usedSinceRestart)
    {
        using var counts = codes.flatten().bincount(null, codebookSize);
        var values = counts.data<long>().ToArray();
        for (int k = 0; k < values.Length; k++) usedSinceRestart[k] |= values[k] > 0;
        return (values.Count(c => c > 0), Perplexity(values));
    }

    /// <summary>exp(entropy) of a code histogram: 1 when one code takes everything, K when K codes are used equally.</summary>
    public static double Perplexity(IReadOnlyList<long> counts)
    {
        double total = counts.Sum(c => (double)c), entropy = 0;
        if (total == 0) return 0;
        foreach (var c in counts)
            if (c > 0) entropy -= c / total * Math.Log(c / total);
        return Math.Exp(entropy);
    }
}
