using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Core.Data;

namespace SslOrleans.Grains.Workers;

/// <summary>
/// Tells a worker's image source which samples it reads next, so that a source decoding from files works ahead on its
/// own threads: this step's micro-batches (all but the first are read while the first computes) and the same
/// micro-batches of the next step. The next step's samples are known here without asking anyone: step t reads stream
/// positions [t·B, (t+1)·B) of the run's seeded order (the data shards serve the same <see cref="SampleStream"/>),
/// micro-batch j the m of them from t·B + j·m. A guess that misses (the membership changed) costs only a decode.
/// </summary>
internal sealed class SampleHints(IImageSource data, RunSpec spec)
{
    private readonly SampleStream stream = new(data.Count, (int)spec.Seed);

    /// <summary>The micro-batches about to be read (the embedding pass of SimCLR and Barlow Twins).</summary>
    public void Hint(MicroBatchWork[] microBatches)
    {
        if (data is ImageDataset) return; // held in memory: nothing to get ahead of
        foreach (var mb in microBatches) data.Prefetch(mb.Samples);
    }

    /// <summary>The micro-batches of step <paramref name="step"/> about to be read, and the same ones of the next step.</summary>
    public void Hint(long step, MicroBatchWork[] microBatches)
    {
        if (data is ImageDataset) return;
        Hint(microBatches);
        foreach (var mb in microBatches)
            data.Prefetch(stream.Take((step + 1) * spec.Batch + (long)mb.Index * spec.MicroBatch, spec.MicroBatch));
    }
}
