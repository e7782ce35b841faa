using SkiaSharp;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Data;
using SslOrleans.Core.Data.Images;
using SslOrleans.Grains.Data;
using SslOrleans.Grains.Tests.Runs;

namespace SslOrleans.Grains.Tests.Data;

/// <summary>
/// The same Fashion-MNIST images as idx files (held in memory) and as a folder of PNGs (decoded on demand by the
/// workers, through the check pass and the streamed source) give the same tensors and train the same model; an
/// epoch over 3 data shards and 2 workers reads every sample of the folder once.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
[Collection(ClusterCollection.Name)]
public sealed class ImageFolderRunTests(ClusterFixture fixture)
{
    private const int TrainImages = 96, TestImages = 40;

    /// <summary>The first images of each split, ordered by label (stably), as idx files and as train/ and test/ class
    /// folders of grey PNGs: a folder is read class by class, so sample i is the same image in both.</summary>
    private static (string Idx, string Png) SameImagesTwice()
    {
        var idx = Cluster.ClusterTestSupport.TempDir("sslo-idx");
        var png = Cluster.ClusterTestSupport.TempDir("sslo-png");
        foreach (var (split, prefix, data, n) in new[]
                 {
                     ("train", "train", FashionMnist.LoadTrainCached(null), TrainImages),
                     ("test", "t10k", FashionMnist.LoadTestCached(null), TestImages),
                 })
        {
            int pixels = data.Height * data.Width;
            var order = Enumerable.Range(0, n).OrderBy(i => data.Labels[i]).ThenBy(i => i).ToArray();
            var images = order.SelectMany(i => data.Pixels.AsSpan(i * pixels, pixels).ToArray()).ToArray();
            var labels = order.Select(i => data.Labels[i]).ToArray();
            WriteIdx(Path.Combine(idx, $"{prefix}-images-idx3-ubyte"), [n, data.Height, data.Width], images);
            WriteIdx(Path.Combine(idx, $"{prefix}-labels-idx1-ubyte"), [n], labels);
            for (int k = 0; k < n; k++)
            {
                // Class folders 0…9 sort as the labels do.
                var folder = Directory.CreateDirectory(Path.Combine(png, split, labels[k].ToString())).FullName;
                File.WriteAllBytes(Path.Combine(folder, $"{k:D5}.png"), GreyPng(images.AsSpan(k * pixels, pixels), data.Width, data.Height));
            }
        }
        return (idx, png);
    }

    private static void WriteIdx(string path, int[] dims, byte[] bytes)
    {
        using var f = File.Create(path);
        f.Write([0, 0, 8, (byte)dims.Length]);
        foreach (var d in dims) f.Write([(byte)(d >> 24), (byte)(d >> 16), (byte)(d >> 8), (byte)d]);
        f.Write(bytes);
    }

    private static byte[] GreyPng(ReadOnlySpan<byte> grey, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        grey.CopyTo(bitmap.GetPixelSpan());
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    [Fact]
    public async Task Idx_files_and_a_folder_of_the_same_pngs_give_the_same_tensors_and_train_the_same_model()
    {
        var (idx, png) = SameImagesTwice();
        try
        {
            var common = RunHarness.Tiny("same-data", steps: 4);
            var fromIdx = common with { RunId = common.RunId + "i", Dataset = "fashion-mnist", Data = idx, Out = common.Out + "-idx" };
            var fromPng = common with { RunId = common.RunId + "p", Dataset = "imagefolder", Data = png, Channels = 1, ImageSize = 28, Out = common.Out + "-png" };

            foreach (var split in new[] { "train", "test" })
            {
                var memory = DatasetCatalog.Open(fromIdx, split);
                var streamed = DatasetCatalog.Open(fromPng, split);
                Assert.IsType<ImageDataset>(memory);
                Assert.IsType<StreamingImageSource>(streamed);
                Assert.Equal((memory.Count, memory.Classes), (streamed.Count, streamed.Classes));
                Assert.Equal(memory.Labels, streamed.Labels);
                Assert.Equal(memory.Stats.Mean, streamed.Stats.Mean);
                Assert.Equal(memory.Stats.Std, streamed.Stats.Std);
                var all = Enumerable.Range(0, memory.Count).Reverse().ToArray();
                using var a = memory.ToTensor(all);
                using var b = streamed.ToTensor(all);
                Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
            }

            var first = await RunHarness.RunToEndAsync(fixture.Cluster.Client, fromIdx);
            var second = await RunHarness.RunToEndAsync(fixture.Cluster.Client, fromPng);
            Assert.True(first.State == RunState.Completed, first.Error);
            Assert.True(second.State == RunState.Completed, second.Error);
            Assert.Equal(await RunHarness.LatestParametersAsync(fromIdx.Out), await RunHarness.LatestParametersAsync(fromPng.Out));
        }
        finally
        {
            Directory.Delete(idx, recursive: true);
            Directory.Delete(png, recursive: true);
        }
    }

    [Fact]
    public async Task An_epoch_over_three_data_shards_and_two_workers_reads_every_sample_of_a_folder_once()
    {
        var (idx, png) = SameImagesTwice();
        try
        {
            // 96 images, batch 32: three steps are exactly one epoch.
            var spec = RunHarness.Tiny("folder-epoch", steps: 3) with { Dataset = "imagefolder", Data = png, Channels = 1, ImageSize = 28, DataShards = 3, Workers = 2 };
            // The workers of this process read through one shared source, opened here first.
            var source = (StreamingImageSource)DatasetCatalog.Train(spec);
            var status = await RunHarness.RunToEndAsync(fixture.Cluster.Client, spec);
            Assert.True(status.State == RunState.Completed, status.Error);
            // Stream positions [0, 96) applied once each (the ledger), and they are the epoch's permutation of the 96 samples.
            var ledger = status.Ledger!;
            Assert.Equal((12L, 12L, 0L, 0L), (ledger.MicrobatchesAssigned, ledger.MicrobatchesCommitted, ledger.SamplesLost, ledger.SamplesDoubled));
            Assert.Equal(Enumerable.Range(0, TrainImages), new SampleStream(TrainImages, (int)spec.Seed).Take(0, TrainImages).Order());
            // 96 images read, some of them decoded ahead.
            var waited = source.Waited;
            Assert.Equal(TrainImages, waited.Hits + waited.Misses);
            Assert.True(waited.Hits > 0, $"no read found its image decoded ahead ({waited})");
            Assert.InRange(source.Held, 1, source.Capacity);
            // The released workers let go of it: the catalog opens a new one now.
            Assert.NotSame(source, DatasetCatalog.Train(spec));
        }
        finally
        {
            Directory.Delete(idx, recursive: true);
            Directory.Delete(png, recursive: true);
        }
    }

    [Fact]
    public async Task A_run_submitted_to_the_cluster_with_a_corrupt_image_fails_naming_it_and_the_cluster_stays_up()
    {
        var folder = ColourImageFolder.Write(trainPerClass: 4, testPerClass: 2, seed: 11);
        var corrupt = Path.Combine(folder, "train", "red", "0001.png");
        File.WriteAllText(corrupt, "not a png at all");
        try
        {
            var bad = RunHarness.Tiny("corrupt", steps: 2) with { Dataset = "imagefolder", Data = folder, ImageSize = 16, Batch = 12, MicroBatch = 6 };
            var status = await RunHarness.RunToEndAsync(fixture.Cluster.Client, bad);
            Assert.Equal(RunState.Failed, status.State);
            Assert.Contains(corrupt, status.Error);
            Assert.Contains("bad_samples", status.Error);

            // The same folder under bad_samples: skip trains on the other 11 images, on the same silos.
            var skip = bad with { RunId = bad.RunId + "s", BadSamples = "skip", Out = bad.Out + "-skip" };
            status = await RunHarness.RunToEndAsync(fixture.Cluster.Client, skip);
            Assert.True(status.State == RunState.Completed, status.Error);
            Assert.Equal(11, DatasetCatalog.Train(skip).Count);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
