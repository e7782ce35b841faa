using System.Collections.Concurrent;

namespace SslOrleans.Core.Data.Images;

/// <summary>
/// Decodes every sample of a reader once, as training would, to find the bad ones before a run does and to measure
/// the per-channel statistics for normalisation.
/// </summary>
public static class DatasetCheck
{
    private const int ProgressSteps = 200;

    /// <summary>
    /// Reads all samples at <paramref name="channels"/> × <paramref name="size"/>² on <paramref name="threads"/>
    /// threads. Bad samples (a <see cref="BadSampleException"/>) are listed in index order and left out of the class
    /// counts and statistics; any other error stops the check. Mean and population std per channel are exact: integer
    /// 256-bin histograms, then the same double arithmetic as <see cref="ImageDataset"/>'s statistics.
    /// </summary>
    public static DatasetReport Run(
        ISampleReader reader, int channels, int size, int threads,
        IProgress<(int Done, int Total)>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        int total = reader.Count, imageBytes = channels * size * size, plane = size * size;
        var histogram = new long[channels * 256];
        var classCounts = new int[reader.Classes];
        var bad = new ConcurrentBag<DatasetBadSample>();
        var gate = new Lock();
        int done = 0, reported = 0;
        int step = Math.Max(1, total / ProgressSteps);

        Parallel.For(
            0,
            total,
            new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken },
            () => (Pixels: new byte[imageBytes], Histogram: new long[channels * 256], Counts: new int[reader.Classes]),
            (index, _, local) =>
            {
                try
                {
                    reader.Read(index, channels, size, local.Pixels);
                    for (int c = 0; c < channels; c++)
                    {
                        int bin = c * 256;
                        foreach (var value in local.Pixels.AsSpan(c * plane, plane))
                        {
                            local.Histogram[bin + value]++;
                        }
                    }

                    int label = reader.Label(index);
                    if (label >= 0)
                    {
                        local.Counts[label]++;
                    }
                }
                catch (BadSampleException e)
                {
                    bad.Add(new DatasetBadSample(index, e.Sample, e.Reason));
                }

                int now = Interlocked.Increment(ref done);
                if (progress is not null && (now % step == 0 || now == total))
                {
                    lock (gate)
                    {
                        // Threads finish out of order: report only forward.
                        if (now > reported)
                        {
                            reported = now;
                            progress.Report((now, total));
                        }
                    }
                }

                return local;
            },
            local =>
            {
                lock (gate)
                {
                    for (int i = 0; i < histogram.Length; i++)
                    {
                        histogram[i] += local.Histogram[i];
                    }

                    for (int i = 0; i < classCounts.Length; i++)
                    {
                        classCounts[i] += local.Counts[i];
                    }
                }
            });

        var mean = new double[channels];
        var std = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            (mean[c], std[c]) = Statistics(histogram.AsSpan(c * 256, 256));
        }

        return new DatasetReport(
            reader.Name, total, channels, size, reader.Classes, [.. reader.ClassNames], classCounts,
            [.. bad.OrderBy(b => b.Index)], mean, std);
    }

    // The arithmetic of ImageDataset.ComputeStats, per channel, so both agree to the last bit.
    private static (double Mean, double Std) Statistics(ReadOnlySpan<long> histogram)
    {
        long count = 0;
        double sum = 0, sumSquares = 0;
        for (int v = 0; v < 256; v++)
        {
            double x = v / 255.0;
            count += histogram[v];
            sum += histogram[v] * x;
            sumSquares += histogram[v] * x * x;
        }

        if (count == 0)
        {
            return (0, 0);
        }

        double mean = sum / count;
        double variance = Math.Max(0, sumSquares / count - mean * mean);
        return (mean, Math.Sqrt(variance));
    }
}
