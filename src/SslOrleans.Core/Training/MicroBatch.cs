namespace SslOrleans.Core.Training;

/// <summary>The unit of work and of batch-norm statistics: m samples and the seed of their views.</summary>
public sealed record MicroBatch(int Index, int[] Samples, ulong Seed);

/// <summary>What a replica computed over its micro-batches: summed gradients, summed buffer values, summed losses.</summary>
public sealed record GradientResult(float[] Gradients, float[] BufferSums, double LossSum, int MicroBatches);
