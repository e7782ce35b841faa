using System.Globalization;
using System.Text.Json;
using SkiaSharp;
using SslOrleans.Cli.Commands;
using SslOrleans.Core.Data;
using TorchSharp;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>sslo bench data: the JSON's rates are there, positive and consistent; the synthetic folder is removed.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class BenchDataTests
{
    [Fact]
    public async Task Bench_data_reports_positive_consistent_rates_on_one_thread()
    {
        int threadsBefore = torch.get_num_threads();
        var (code, stdout, stderr) = await SsloInProcess.RunAsync(
            "bench", "data", "--sizes", "32", "--seconds", "0.2", "--width", "2", "--batch", "8", "--synthetic-images", "16", "--json");
        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Equal(threadsBefore, torch.get_num_threads()); // the bench's one thread is not left behind

        // --json: the JSON line alone.
        var line = Assert.Single(stdout.TrimEnd().Split('\n'));
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        Assert.Equal("byol", root.GetProperty("method").GetString());
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Equal(16, root.GetProperty("samples").GetInt32());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("processor").GetString()));
        var size = Assert.Single(root.GetProperty("sizes").EnumerateArray().ToList());
        Assert.Equal(32, size.GetProperty("image_size").GetInt32());
        Assert.StartsWith("resnet18 width 2", size.GetProperty("architecture").GetString());
        double decode = size.GetProperty("decode_per_s").GetDouble(), augment = size.GetProperty("augment_per_s").GetDouble();
        double both = size.GetProperty("decode_augment_per_s").GetDouble(), compute = size.GetProperty("compute_per_s").GetDouble();
        double ratio = size.GetProperty("data_over_compute").GetDouble(), decodeRatio = size.GetProperty("decode_over_compute").GetDouble();
        Assert.All(new[] { decode, augment, both, compute, ratio, decodeRatio }, x => Assert.True(x > 0, $"a rate is {x}: {line}"));
        Assert.True(both <= Math.Min(decode, augment) + 0.01, $"decode+augment {both}/s is faster than one of its parts: {line}");
        Assert.Equal(1 / (1 / decode + 1 / augment), both, 0.02 * both); // per core: the two take turns on one thread
        Assert.Equal(both / compute, ratio, 0.01 * ratio + 0.002);
        Assert.Equal(decode / compute, decodeRatio, 0.01 * decodeRatio + 0.002);

        // The synthetic folder it wrote is gone.
        var written = stderr.Split('\n').Single(l => l.Contains("synthetic JPEGs", StringComparison.Ordinal));
        var folder = written[(written.IndexOf(" to ", StringComparison.Ordinal) + 4)..written.IndexOf(" in ", StringComparison.Ordinal)];
        Assert.StartsWith(Path.GetTempPath().TrimEnd('/'), folder);
        Assert.False(Directory.Exists(folder), $"{folder} was left behind");
    }

    [Fact]
    public async Task Bench_data_refuses_bad_sizes_and_a_binary_format_without_data()
    {
        await SsloInProcess.AssertBadInputAsync(["bench", "data", "--sizes", "32,x"], "--sizes wants positive integers");
        await SsloInProcess.AssertBadInputAsync(["bench", "data", "--dataset", "cifar10"], "--dataset cifar10 needs --data DIR");
    }
}

/// <summary>sslo data make-colour-fashion: the folders, the images and their labels.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class BenchDataColourFashionTests
{
    [Fact]
    public async Task Make_colour_fashion_writes_32px_rgb_pngs_in_class_folders_labelled_as_fashion_mnist()
    {
        var root = Path.Combine(Path.GetTempPath(), "sslo-colour-fashion-" + Guid.NewGuid().ToString("N")[..8]);
        var again = root + "-again";
        try
        {
            var (code, stdout, stderr) = await SsloInProcess.RunAsync("data", "make-colour-fashion", "--to", root, "--train", "40", "--test", "20", "--seed", "3");
            Assert.True(code == 0, $"exit {code}: {stderr}");
            using (var json = JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]))
            {
                var splits = json.RootElement.GetProperty("splits");
                Assert.Equal(40, splits.GetProperty("train").GetProperty("samples").GetInt32());
                Assert.Equal(20, splits.GetProperty("test").GetProperty("samples").GetInt32());
            }

            var sources = new Dictionary<string, ImageDataset> { ["train"] = FashionMnist.LoadTrainCached(null), ["test"] = FashionMnist.LoadTestCached(null) };
            foreach (var (split, count) in new[] { ("train", 40), ("test", 20) })
            {
                var folders = Directory.GetDirectories(Path.Combine(root, split)).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList();
                Assert.Equal(DataMakeColourFashionCommand.ClassFolders, folders);
                int files = 0, coloured = 0;
                for (int label = 0; label < folders.Count; label++)
                {
                    foreach (var path in Directory.GetFiles(Path.Combine(root, split, folders[label])))
                    {
                        files++;
                        var name = Path.GetFileNameWithoutExtension(path);
                        Assert.Equal(".png", Path.GetExtension(path));
                        Assert.StartsWith($"fm-{split}-", name);
                        int index = int.Parse(name[$"fm-{split}-".Length..], CultureInfo.InvariantCulture);
                        Assert.Equal(sources[split].Labels[index], label); // the folder is Fashion-MNIST's label

                        using var codec = SKCodec.Create(path);
                        Assert.Equal(SKEncodedImageFormat.Png, codec.EncodedFormat);
                        Assert.Equal((32, 32), (codec.Info.Width, codec.Info.Height));
                        using var bitmap = SKBitmap.Decode(path);
                        var pixels = Enumerable.Range(0, 32 * 32).Select(p => bitmap.GetPixel(p % 32, p / 32)).ToList();
                        if (pixels.Any(c => c.Red != c.Green || c.Green != c.Blue)) coloured++;
                        // The corners are background (the 28×28 garment is centred): one colour there.
                        Assert.Single(new[] { (0, 0), (31, 0), (0, 31), (31, 31) }.Select(xy => bitmap.GetPixel(xy.Item1, xy.Item2)).Distinct());
                    }
                }
                Assert.Equal(count, files);
                Assert.Equal(count, coloured); // RGB in colour, not grey saved as RGB
            }

            // Deterministic in the seed: a second run writes the same files, byte for byte.
            var (code2, _, stderr2) = await SsloInProcess.RunAsync("data", "make-colour-fashion", "--to", again, "--train", "40", "--test", "20", "--seed", "3");
            Assert.True(code2 == 0, $"exit {code2}: {stderr2}");
            var first = Directory.GetFiles(root, "*.png", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToList();
            var second = Directory.GetFiles(again, "*.png", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(again, f)).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(first, second);
            Assert.All(first, f => Assert.Equal(File.ReadAllBytes(Path.Combine(root, f)), File.ReadAllBytes(Path.Combine(again, f))));
        }
        finally
        {
            foreach (var folder in new[] { root, again })
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
