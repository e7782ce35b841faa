using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SkiaSharp;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data;
using SslOrleans.Core.Data.Images;
using SslOrleans.Core.Numerics;
using SslOrleans.Core.Training;
using SslOrleans.Core.Transforms;
using SslOrleans.Grains;
using TorchSharp;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo bench data: whether one core of the data path keeps up with one core of compute, per image size. On one thread
/// (torch.set_num_threads(1), decoding on the calling thread) it measures (a) decode images/s (<see cref="ISampleReader.Read"/>
/// at the size), (b) augment images/s (<see cref="ViewTransform.Apply"/> of every view of the method's recipes on a batch),
/// (c) compute images/s (the method's loss forward + backward on a micro-batch through <see cref="Replica.ComputeGradients"/>,
/// the replica built by <see cref="RunSpecOptions.Method"/> as the workers build it). Note that in this code base the
/// views are made inside the method's loss, on the compute thread: compute/s includes augmentation, and the decoder
/// threads of <see cref="StreamingImageSource"/> only decode. Both ratios are reported.
/// Without --data it writes a synthetic folder of photo-like JPEGs (about 250 × 200 px) to a temporary folder and
/// deletes it afterwards, so that decoding includes a real downscale.
/// </summary>
public static class BenchDataCommand
{
    public static readonly string[] Methods = ["byol", "simclr", "barlow", "rotnet", "mae"];

    public static Command Create()
    {
        var sizes = Flag.Text("--sizes", "N,N,…", "Image sides to measure at", "32,96,224");
        var method = Flag.OneOf("--method", "The method whose views and loss are measured", "byol", Methods);
        var batch = Flag.PositiveInteger("--batch", "Images per augmented batch and per compute micro-batch", 64);
        var seconds = Flag.PositiveNumber("--seconds", "Seconds per measurement, after a warm-up", 10);
        var dataset = Flag.Text("--dataset", "FORMAT", "imagefolder, tar, cifar10, cifar100 or stl10 (default: told by --data's files; imagefolder for the synthetic set)");
        var data = Flag.Text("--data", "DIR", "The dataset's folder (default: a synthetic folder of ~250×200 px JPEGs, written to a temporary folder and deleted)");
        var images = Flag.PositiveInteger("--synthetic-images", "Images of the synthetic folder", 512);
        var width = Flag.PositiveInteger("--width", "Width of the backbone", 16);
        var backbone = Flag.Text("--backbone", "NAME", "The backbone (default: the method's, resnet18 for byol/simclr/barlow/rotnet)");
        var seed = Flag.Integer("--seed", "Seed of the model, the views and the synthetic images", 0);
        var json = CommonOptions.Json();
        var command = new Command("data",
            "Decode, augment and compute images/s on one core per image size, and whether one core of the data path keeps up with one of compute; JSON as the last stdout line")
        {
            sizes, method, batch, seconds, dataset, data, images, width, backbone, seed, json,
        };
        command.SetAction(parsed =>
        {
            int[] sides;
            try
            {
                sides = parsed.GetValue(sizes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw parsed.Problem($"--sizes wants positive integers separated by commas, got '{parsed.GetValue(sizes)}'");
            }
            if (sides.Length == 0 || sides.Any(s => s < 8)) throw parsed.Problem($"--sizes wants sides of at least 8, got '{parsed.GetValue(sizes)}'");
            var format = parsed.GetValue(dataset);
            if (format is not null && !DatasetFormats.Known.Contains(format))
                throw parsed.Problem($"--dataset '{format}' is unknown; known: {string.Join(", ", DatasetFormats.Known)}");
            var folder = parsed.GetValue(data);
            if (folder is null && format is not (null or DatasetFormats.ImageFolder or DatasetFormats.Tar))
                throw parsed.Problem($"--dataset {format} needs --data DIR: the synthetic set is an image folder (or its tar shards)");
            return Run(new Settings(sides, parsed.GetValue(method)!, parsed.GetValue(batch), parsed.GetValue(seconds), format, folder,
                parsed.GetValue(images), parsed.GetValue(width), parsed.GetValue(backbone), parsed.GetValue(seed), parsed.GetValue(json)), parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    public sealed record Settings(int[] Sizes, string Method, int Batch, double Seconds, string? Format, string? Data, int SyntheticImages,
        int Width, string? Backbone, long Seed, bool Json);

    private sealed record Row(int Size, double Decode, double Augment, double DecodeAugment, double Compute, double DataOverCompute,
        double DecodeOverCompute, string Architecture);

    private static int Run(Settings o, TextWriter stdout, TextWriter stderr)
    {
        string? temporary = null;
        int threadsBefore = torch.get_num_threads();
        try
        {
            string root, format;
            if (o.Data is null)
            {
                temporary = Path.Combine(Path.GetTempPath(), "sslo-bench-data-" + Guid.NewGuid().ToString("N")[..8]);
                var clock = Stopwatch.StartNew();
                root = Path.Combine(temporary, "folder");
                long bytes = WriteSyntheticFolder(root, o.SyntheticImages, (ulong)o.Seed);
                format = o.Format ?? DatasetFormats.ImageFolder;
                if (format == DatasetFormats.Tar)
                {
                    var shards = Path.Combine(temporary, "shards");
                    DatasetPacker.Pack(root, shards, 1L << 30);
                    root = shards;
                }
                stderr.WriteLine($"sslo bench data: wrote {o.SyntheticImages} synthetic JPEGs (~250×200 px, {bytes / 1024.0 / o.SyntheticImages:F1} KiB each) " +
                                 $"to {temporary} in {clock.Elapsed.TotalSeconds:F1} s, read as {format}");
            }
            else
            {
                root = Path.GetFullPath(o.Data);
                if (!Directory.Exists(root)) throw new SpecException($"bench data: --data {o.Data} is not a folder");
                format = o.Format ?? DatasetFormats.Detect(root);
            }

            torch.set_num_threads(1);
            stderr.WriteLine($"sslo bench data: {o.Method}, batch {o.Batch}, {o.Seconds.ToString(CultureInfo.InvariantCulture)} s per measurement after a warm-up, " +
                             $"1 thread (torch intra-op 1, decoding on the calling thread); {CpuIdentity.Current}, {Environment.ProcessorCount} cores visible");
            using var reader = Open(format, root);
            var rows = new List<Row>();
            foreach (int size in o.Sizes)
            {
                rows.Add(Measure(reader, size, o, stderr));
                if (!o.Json) PrintTable(stdout, rows[^1], o);
            }

            stdout.WriteLine(JsonSerializer.Serialize(new
            {
                method = o.Method,
                dataset = o.Data is null ? $"synthetic {o.SyntheticImages} JPEGs ~250x200 ({format})" : $"{format}:{o.Data}",
                samples = reader.Count,
                batch = o.Batch,
                seconds = o.Seconds,
                width = o.Width,
                threads = 1,
                processor = CpuIdentity.Current.ToString(),
                cpu_model = CpuModel(),
                cores = Environment.ProcessorCount,
                sizes = rows.Select(r => new
                {
                    image_size = r.Size,
                    architecture = r.Architecture,
                    decode_per_s = Math.Round(r.Decode, 2),
                    augment_per_s = Math.Round(r.Augment, 2),
                    decode_augment_per_s = Math.Round(r.DecodeAugment, 2),
                    compute_per_s = Math.Round(r.Compute, 2),
                    data_over_compute = Math.Round(r.DataOverCompute, 3),
                    decode_over_compute = Math.Round(r.DecodeOverCompute, 3),
                }),
            }));
            return 0;
        }
        finally
        {
            torch.set_num_threads(threadsBefore);
            if (temporary is not null && Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        }
    }

    private static ISampleReader Open(string format, string root)
    {
        try
        {
            return DatasetFormats.Open(format, root, "train");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            throw new SpecException($"bench data: {e.Message}");
        }
    }

    private static void PrintTable(TextWriter stdout, Row r, Settings o)
    {
        stdout.WriteLine($"image size {r.Size} ({r.Architecture}, {o.Method}, batch {o.Batch}, one thread):");
        stdout.WriteLine($"  decode/s            {r.Decode,10:F1}");
        stdout.WriteLine($"  augment/s           {r.Augment,10:F1}   (every view of {o.Method}'s recipes)");
        stdout.WriteLine($"  decode+augment/s    {r.DecodeAugment,10:F1}   (per core: 1 / (1/decode + 1/augment))");
        stdout.WriteLine($"  compute/s           {r.Compute,10:F1}   (loss forward + backward; includes the views, as the workers make them)");
        stdout.WriteLine($"  data ÷ compute      {r.DataOverCompute,10:F2}   (decode+augment per core ÷ compute per core; ≥ 1: one data core keeps up with one compute core)");
        stdout.WriteLine($"  decode ÷ compute    {r.DecodeOverCompute,10:F2}   (what a decoder thread must match: the workers augment on the compute thread)");
    }

    private static Row Measure(ISampleReader reader, int size, Settings o, TextWriter stderr)
    {
        const int channels = 3;
        int imageBytes = channels * size * size;
        var buffer = new byte[imageBytes];

        // (a) decode: one thread reading sample after sample, cycling over the split; a warm-up pass first.
        int next = 0;
        void ReadOne()
        {
            reader.Read(next, channels, size, buffer);
            next = (next + 1) % reader.Count;
        }
        for (int i = 0; i < Math.Min(reader.Count, 2 * o.Batch); i++) ReadOne();
        next = 0;
        double decode = Rate(o.Seconds, 1, ReadOne);

        // The batch the augmentation and the compute see: the first `batch` samples decoded at this size.
        var pixels = new byte[(long)o.Batch * imageBytes];
        for (int i = 0; i < o.Batch; i++) reader.Read(i % reader.Count, channels, size, pixels.AsSpan(i * imageBytes, imageBytes));
        var data = new ImageDataset($"bench-data-{size}", channels, size, size, pixels, new byte[o.Batch], classes: 1);
        var samples = Enumerable.Range(0, o.Batch).ToArray();

        // (b) augment: every view of the method's recipes, as its loss draws them.
        var recipes = ViewRecipes.For(o.Method, channels, size);
        var stats = data.Stats;
        using var batchImages = data.ToTensor(samples);
        ulong viewSeed = (ulong)o.Seed;
        void Augment()
        {
            using var scope = torch.NewDisposeScope();
            for (int v = 0; v < recipes.Count; v++)
                ViewTransform.Apply(batchImages, recipes[v], ViewRecipe.ViewSeed(viewSeed, v), stats.Mean, stats.Std);
            viewSeed++;
        }
        Augment();
        double augment = Rate(o.Seconds, o.Batch, Augment);

        // (c) compute: the replica the workers build, one micro-batch of the batch through ComputeGradients.
        var spec = new RunSpec
        {
            Method = o.Method, Backbone = o.Backbone, Width = o.Width, Dataset = DatasetFormats.ImageFolder, ImageSize = size, Channels = channels,
            Seed = o.Seed, RunId = "bench-data",
        };
        using var replica = new Replica(RunSpecOptions.Method(spec, data));
        var resolved = Grains.Runs.RunPlan.WithMethodDefaults(spec);
        string architecture = $"{resolved.Backbone} width {o.Width}, {resolved.Stem} stem";
        ulong stepSeed = (ulong)o.Seed;
        void Compute()
        {
            var batches = new[] { new MicroBatch(0, samples, stepSeed++) };
            if (replica.NeedsBatchEmbeddings)
                replica.ComputeGradients(batches, data, new BatchEmbeddings(replica.Embed(batches, data), 1));
            else replica.ComputeGradients(batches, data);
            replica.TakeDataSeconds();
        }
        var warm = Stopwatch.StartNew();
        Compute(); // the first pass allocates and picks kernels
        stderr.WriteLine($"sslo bench data: {size} px: decode {decode:F1}/s, augment {augment:F1}/s; compute warm-up {warm.Elapsed.TotalSeconds:F1} s ({architecture})");
        double compute = Rate(o.Seconds, o.Batch, Compute);

        double decodeAugment = 1 / (1 / decode + 1 / augment);
        stderr.WriteLine($"sslo bench data: {size} px: compute {compute:F1}/s; decode+augment {decodeAugment:F1}/s per core, {decodeAugment / compute:F2}× compute");
        return new Row(size, decode, augment, decodeAugment, compute, decodeAugment / compute, decode / compute, architecture);
    }

    /// <summary>Images per second of <paramref name="work"/>, which handles <paramref name="images"/> per call: called
    /// until <paramref name="seconds"/> have passed, at least once.</summary>
    private static double Rate(double seconds, int images, Action work)
    {
        long calls = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            work();
            calls++;
        }
        while (clock.Elapsed.TotalSeconds < seconds);
        return calls * images / clock.Elapsed.TotalSeconds;
    }

    /// <summary>The processor's model name as /proc/cpuinfo gives it, or null where there is none.</summary>
    public static string? CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// A folder of <paramref name="count"/> photo-like JPEGs in 4 class folders, each about 250 × 200 px (sides vary by
    /// ±10 %): a sky-to-ground gradient, soft blobs and shapes of random colours, and pixel noise, so that the files are
    /// as costly to decode as small photos (quality 90). Deterministic in <paramref name="seed"/>. Returns the bytes written.
    /// </summary>
    public static long WriteSyntheticFolder(string root, int count, ulong seed)
    {
        const int classes = 4;
        long bytes = 0;
        for (int c = 0; c < classes; c++) Directory.CreateDirectory(Path.Combine(root, $"class{c}"));
        for (int i = 0; i < count; i++)
        {
            var random = new Random(unchecked((int)(seed * 1_000_003UL + (ulong)i)));
            int width = 225 + random.Next(51), height = 180 + random.Next(41);
            using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
            using (var canvas = new SKCanvas(bitmap))
            {
                SKColor Colour() => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                using (var sky = new SKPaint())
                {
                    sky.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(random.Next(width), height), [Colour(), Colour(), Colour()],
                        [0f, 0.55f, 1f], SKShaderTileMode.Clamp);
                    canvas.DrawRect(0, 0, width, height, sky);
                }
                using var paint = new SKPaint { IsAntialias = true };
                for (int s = 0; s < 12; s++)
                {
                    paint.Color = Colour().WithAlpha((byte)(80 + random.Next(176)));
                    paint.MaskFilter = s % 3 == 0 ? SKMaskFilter.CreateBlur(SKBlurStyle.Normal, 2 + random.Next(12)) : null;
                    float x = random.Next(width), y = random.Next(height), r = 8 + random.Next(60);
                    if (s % 2 == 0) canvas.DrawCircle(x, y, r, paint);
                    else canvas.DrawRect(x - r, y - r / 2, 2 * r, r, paint);
                    paint.MaskFilter?.Dispose();
                }
            }
            // Sensor-like noise: ±12 per channel, so the JPEG has texture to code, as a photo does.
            var span = bitmap.GetPixelSpan();
            for (int p = 0; p < span.Length; p++)
            {
                if ((p & 3) == 3) continue;
                span[p] = (byte)Math.Clamp(span[p] + random.Next(-12, 13), 0, 255);
            }
            using var encoded = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
            var path = Path.Combine(root, $"class{i % classes}", $"{i:D5}.jpg");
            using (var file = File.Create(path)) encoded.SaveTo(file);
            bytes += encoded.Size;
        }
        return bytes;
    }
}
