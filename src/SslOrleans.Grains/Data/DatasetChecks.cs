using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using SslOrleans.Core.Data.Images;
using SslOrleans.Storage;

namespace SslOrleans.Grains.Data;

/// <summary>
/// The check pass over a dataset split before a run trains on it: every sample decoded once, the bad ones named, the
/// per-channel statistics measured. Its report is kept on disk (the blob cache's folder, datasets/), keyed by the
/// split, the size and channels, and the names, lengths and times of the dataset's files, so that the pass is made once
/// per dataset and machine, not once per run; `sslo data inspect` makes the same pass.
/// </summary>
public static class DatasetChecks
{
    /// <summary>The report of <paramref name="reader"/>'s split at this size and channels, from the cache or a fresh pass.</summary>
    /// <param name="root">The dataset's folder: its files' names, lengths and times key the cached report.</param>
    public static DatasetReport Run(ISampleReader reader, string? root, int channels, int size, IProgress<DatasetCheckProgress>? progress = null)
    {
        var cacheFile = root is null ? null : CacheFile(reader, root, channels, size);
        if (cacheFile is not null && TryRead(cacheFile) is { } cached && cached.Count == reader.Count) return cached;
        var clock = Stopwatch.StartNew();
        var report = DatasetCheck.Run(reader, channels, size, Environment.ProcessorCount,
            progress is null ? null : new Progress(reader.Name, clock, progress), CancellationToken.None);
        if (cacheFile is not null) Write(cacheFile, report);
        return report;
    }

    /// <summary>Why a split with bad samples is refused under bad_samples: fail, naming the first of them.</summary>
    public static string Refusal(DatasetReport report)
    {
        const int Named = 5;
        var named = report.BadSamples.Take(Named).Select(b => $"{b.Sample} ({b.Reason})");
        var more = report.BadSamples.Count > Named ? $" and {report.BadSamples.Count - Named} more" : "";
        return $"{report.Name}: {report.BadSamples.Count} of {report.Count} samples cannot be decoded: {string.Join("; ", named)}{more}. " +
               "The run is refused before training (bad_samples: fail): fix or remove them, or set bad_samples: skip to leave them out";
    }

    /// <summary>Progress lines on <paramref name="stderr"/>, at most one every five seconds and one at the end.</summary>
    public static IProgress<DatasetCheckProgress> Printer(TextWriter stderr)
    {
        var last = Stopwatch.StartNew();
        return new SyncProgress<DatasetCheckProgress>(p =>
        {
            if (p.Skipped is { Count: > 0 } skipped)
            {
                stderr.WriteLine($"sslo: {p.Dataset}: leaving out {skipped.Count} samples that do not decode (bad_samples: skip): " +
                                 string.Join("; ", skipped.Select(b => $"{b.Sample} ({b.Reason})")));
                return;
            }
            if (p.Done < p.Total && last.Elapsed < TimeSpan.FromSeconds(5)) return;
            last.Restart();
            stderr.WriteLine($"sslo: checking {p.Dataset}: {p.Done}/{p.Total} images{(p.Done < p.Total ? $", ETA {p.EtaSeconds:F0} s" : "")}");
        });
    }

    private static string CacheFile(ISampleReader reader, string root, int channels, int size)
    {
        var key = new StringBuilder().Append(reader.Name).Append('|').Append(channels).Append('|').Append(size).Append('|').Append(reader.Count);
        var folder = Path.GetFullPath(root);
        if (Directory.Exists(folder))
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var info = new FileInfo(file);
                key.Append('|').Append(Path.GetRelativePath(folder, file)).Append(':');
                // A dataset from blob storage is links into the cache, named by their content's sha256: the name is
                // the key (the links are made anew by every process that reads the dataset).
                if (info.LinkTarget is { } target) key.Append(target);
                else key.Append(info.Length).Append(':').Append(info.LastWriteTimeUtc.Ticks);
            }
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())))[..32];
        return Path.Combine(new StorageOptions().WithEnvironment().ResolvedCacheFolder, "datasets", hash + ".json");
    }

    private static DatasetReport? TryRead(string file)
    {
        try
        {
            return File.Exists(file) ? DatasetReport.Load(file) : null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return null; // a torn or foreign file: make the pass again
        }
    }

    private static void Write(string file, DatasetReport report)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            var tmp = file + "." + Guid.NewGuid().ToString("N") + ".tmp";
            report.Save(tmp);
            File.Move(tmp, file, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A cache that cannot be written costs a second pass next time, nothing else.
        }
    }

    private sealed class Progress(string dataset, Stopwatch clock, IProgress<DatasetCheckProgress> target) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value)
        {
            double rate = value.Done / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            target.Report(new DatasetCheckProgress(dataset, value.Done, value.Total, value.Done == 0 ? 0 : (value.Total - value.Done) / rate));
        }
    }
}

/// <summary>How far a check pass is: images decoded of the split's, and the seconds left at the rate so far.</summary>
public sealed record DatasetCheckProgress(string Dataset, int Done, int Total, double EtaSeconds,
    IReadOnlyList<DatasetBadSample>? Skipped = null);
