namespace SslOrleans.Core.Training;

/// <summary>The unit of work and of batch-norm statistics: m samples and the seed of their views.</summary>
public sealed record MicroBatch(int Index, int[] Samples, ulong Seed);

/// <summary>
/// What a replica computed over its micro-batches: gradients, buffer values and losses, each summed over the
/// micro-batches in float64 (exact for these few float32 terms, so sums of sums equal the whole sum).
/// </summary>
public sealed record GradientResult(double[] Gradients, double[] BufferSums, double LossSum, int MicroBatches,
    double ProbeLossSum = 0, long ProbeCorrect = 0);

/// <summary>The embeddings of a whole step, [micro-batch, V, m, d] row-major, micro-batches in index order.</summary>
public sealed record BatchEmbeddings(float[] Values, int MicroBatches);
