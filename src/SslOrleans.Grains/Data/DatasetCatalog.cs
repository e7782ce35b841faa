using SslOrleans.Abstractions.Data;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Data;
using SslOrleans.Core.Data.Images;
using SslOrleans.Core.Methods;

namespace SslOrleans.Grains.Data;

/// <summary>
/// A run's train and test splits as image sources, one shared instance per process for the workers it holds.
/// Fashion-MNIST at its own 28 px and one channel is held in memory as before; every other dataset (and Fashion-MNIST
/// at another size) is decoded from its files on demand (<see cref="StreamingImageSource"/>), after a check pass over
/// every sample (<see cref="DatasetChecks"/>) that finds bad samples before training starts and measures the
/// per-channel statistics the views normalise with.
/// </summary>
public static class DatasetCatalog
{
    // One entry per dataset split, size and policy; workers hold leases, and the last lease to end disposes the
    // source (its cache and decoder threads), so that a silo keeps no run's images after the run.
    private static readonly Dictionary<Key, Entry> Sources = [];
    private static readonly Lock Gate = new();

    /// <summary>The training split of a spec whose <c>data</c> is a local folder (or unset for Fashion-MNIST).</summary>
    public static IImageSource Train(RunSpec spec, IProgress<DatasetCheckProgress>? progress = null) => Open(spec, "train", progress);

    public static IImageSource Test(RunSpec spec, IProgress<DatasetCheckProgress>? progress = null) => Open(spec, "test", progress);

    /// <summary>The test split, or null when the dataset has none (an image folder or shards without train/ and test/).</summary>
    public static IImageSource? TryTest(RunSpec spec, IProgress<DatasetCheckProgress>? progress = null) =>
        HasTest(spec) ? Open(spec, "test", progress) : null;

    /// <summary>A dataset at its own size and channels, as `sslo eval` and the tokenizer read it.</summary>
    public static IImageSource Train(string dataset, string? data) => Open(new RunSpec { Dataset = dataset, Data = data }, "train");

    public static IImageSource Test(string dataset, string? data) => Open(new RunSpec { Dataset = dataset, Data = data }, "test");

    public static IImageSource Open(RunSpec spec, string split, IProgress<DatasetCheckProgress>? progress = null) =>
        Resolve(spec, split, progress, lease: false).Source;

    /// <summary>The split for a worker, held until the lease is disposed (the last lease disposes the source).</summary>
    public static DatasetLease Lease(RunSpec spec, string split) => Resolve(spec, split, progress: null, lease: true);

    /// <summary>A lease on the test split, or null when the dataset has none.</summary>
    public static DatasetLease? TryLeaseTest(RunSpec spec) => HasTest(spec) ? Lease(spec, "test") : null;

    private static bool HasTest(RunSpec spec) =>
        spec.Dataset == "fashion-mnist" || spec.Data is null || DatasetFormats.HasTestSplit(spec.Dataset, spec.Data);

    private static DatasetLease Resolve(RunSpec spec, string split, IProgress<DatasetCheckProgress>? progress, bool lease)
    {
        if (!RunSpecValidator.Datasets.Contains(spec.Dataset))
            throw new ArgumentException($"dataset '{spec.Dataset}' is unknown; known: {string.Join(", ", RunSpecValidator.Datasets)}");
        int size = spec.ImageSize > 0 ? spec.ImageSize : DatasetShapes.ImageSize(spec.Dataset);
        int channels = spec.Channels > 0 ? spec.Channels : DatasetShapes.Channels(spec.Dataset);
        if (spec.Dataset == "fashion-mnist" && size == 28 && channels == 1)
            return new DatasetLease(split == "train" ? FashionMnist.LoadTrainCached(spec.Data) : FashionMnist.LoadTestCached(spec.Data), release: null);
        if (spec.Data is null && spec.Dataset != "fashion-mnist")
            throw new ArgumentException($"data: the {spec.Dataset} dataset needs --data FOLDER (or az://CONTAINER/PREFIX)");
        var key = new Key(spec.Dataset, spec.Data is null ? null : Path.GetFullPath(spec.Data), split, channels, size, spec.BadSamples, BatchCapacity(spec));
        Entry entry;
        lock (Gate)
        {
            if (!Sources.TryGetValue(key, out entry!))
                Sources[key] = entry = new Entry(new Lazy<IImageSource>(() => Stream(key, progress), LazyThreadSafetyMode.ExecutionAndPublication));
            if (lease) entry.Leases++;
        }
        try
        {
            return new DatasetLease(entry.Source.Value, lease ? () => Release(key, entry) : null);
        }
        catch
        {
            // Lazy would keep the failure forever: a later call must see files fixed meanwhile.
            lock (Gate)
            {
                if (lease) entry.Leases--;
                if (Sources.TryGetValue(key, out var now) && now == entry) Sources.Remove(key);
            }
            throw;
        }
    }

    private static void Release(Key key, Entry entry)
    {
        lock (Gate)
        {
            if (--entry.Leases > 0) return;
            if (Sources.TryGetValue(key, out var now) && now == entry) Sources.Remove(key);
        }
        (entry.Source.Value as IDisposable)?.Dispose();
    }

    /// <summary>Fashion-MNIST's files as a reader, for packing or for another size than its own.</summary>
    private static ISampleReader Reader(Key key) => key.Dataset == "fashion-mnist"
        ? new ImageDatasetReader(key.Split == "train" ? FashionMnist.LoadTrainCached(key.Folder) : FashionMnist.LoadTestCached(key.Folder))
        : DatasetFormats.Open(key.Dataset, key.Folder!, key.Split);

    private static IImageSource Stream(Key key, IProgress<DatasetCheckProgress>? progress)
    {
        var reader = Reader(key);
        try
        {
            var report = DatasetChecks.Run(reader, key.Folder, key.Channels, key.Size, progress);
            if (report.BadSamples.Count > 0 && key.BadSamples == "fail")
                throw new InvalidDataException(DatasetChecks.Refusal(report));
            if (report.BadSamples.Count > 0) progress?.Report(new DatasetCheckProgress(report.Name, report.Count, report.Count, 0, report.BadSamples));
            ISampleReader good = report.BadSamples.Count == 0 ? reader : SampleSubset.Without(reader, report.BadSamples.Select(b => b.Index));
            if (good.Count == 0) throw new InvalidDataException($"{reader.Name}: no sample can be decoded");
            var stats = new ImageStats(report.Mean.Select(m => (float)m).ToArray(), report.Std.Select(s => (float)s).ToArray());
            return new StreamingImageSource(good, key.Channels, key.Size, stats, key.Capacity, DecoderThreads);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    // Two global batches: the step being computed and the next one, hinted ahead, whatever share of them this
    // process's workers hold.
    private static int BatchCapacity(RunSpec spec) => Math.Max(2 * spec.Batch, 64);

    // Half the cores decode: the other half (and the decoders' idle time) is the workers' compute.
    private static int DecoderThreads => Math.Max(1, Environment.ProcessorCount / 2);

    private sealed class Entry(Lazy<IImageSource> source)
    {
        public Lazy<IImageSource> Source { get; } = source;
        public int Leases;
    }

    private sealed record Key(string Dataset, string? Folder, string Split, int Channels, int Size, string BadSamples, int Capacity);
}
