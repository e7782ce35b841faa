using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SkiaSharp;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo data make-colour-fashion --to DIR [--train N --test N --seed S]: "colour Fashion-MNIST", an RGB image folder made
/// deterministically from Fashion-MNIST (Debian's package), for trying the image-folder and tar paths on colour images
/// without a download. Each 28 × 28 garment is tinted with a random colour (its grey value is the blend weight) over a
/// background of another random colour, centred on a 32 × 32 canvas of that background, written as a PNG in
/// DIR/train|test/&lt;label&gt;-&lt;name&gt;/ (the folders sort into Fashion-MNIST's label order). Which garments are taken
/// (a seeded permutation of each split) and their colours depend only on the seed. The file name keeps the source:
/// fm-train-01234.png is Fashion-MNIST's training image 1234. --palette grey writes the control: every garment white on
/// black, Fashion-MNIST itself as RGB PNGs through the same folder, tar and RGB-view paths.
/// </summary>
public static class DataMakeColourFashionCommand
{
    /// <summary>Fashion-MNIST's classes in label order, as folder names.</summary>
    public static IReadOnlyList<string> ClassFolders { get; } =
        ["0-tshirt-top", "1-trouser", "2-pullover", "3-dress", "4-coat", "5-sandal", "6-shirt", "7-sneaker", "8-bag", "9-ankle-boot"];

    public const int Side = 32;

    public static Command Create()
    {
        var to = Flag.Text("--to", "DIR", "The new or empty folder to write; required");
        var train = Flag.PositiveInteger("--train", "Images of the train split (at most 60 000)", 10_000);
        var test = Flag.PositiveInteger("--test", "Images of the test split (at most 10 000)", 2_000);
        var seed = Flag.Integer("--seed", "Seed of the garments chosen and their colours", 0);
        var data = Flag.Text("--data", "DIR", "Fashion-MNIST's files (default: the system locations, Debian's package)");
        var palette = Flag.OneOf("--palette", "random: a random garment colour on a random background; grey: white on black, Fashion-MNIST itself as RGB (a control)",
            "random", "random", "grey");
        var command = new Command("make-colour-fashion",
            "Writes \"colour Fashion-MNIST\": garments tinted a random colour on a random-colour background, 32×32 RGB PNGs in train/ and test/ class folders")
        {
            to, train, test, seed, data, palette,
        };
        command.SetAction(parsed =>
        {
            var destination = parsed.GetValue(to) ?? throw parsed.Problem("--to DIR is required");
            if (parsed.GetValue(train) > 60_000) throw parsed.Problem("--train: Fashion-MNIST has 60 000 training images");
            if (parsed.GetValue(test) > 10_000) throw parsed.Problem("--test: Fashion-MNIST has 10 000 test images");
            return Make(Path.GetFullPath(destination), parsed.GetValue(train), parsed.GetValue(test), parsed.GetValue(seed), parsed.GetValue(data),
                parsed.GetValue(palette) == "grey", parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    private static int Make(string root, int trainCount, int testCount, long seed, string? data, bool grey, TextWriter stdout, TextWriter stderr)
    {
        if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any())
            throw new SpecException($"make-colour-fashion: --to {root} is not empty; give a new or empty folder");
        var clock = Stopwatch.StartNew();
        var splits = new[]
        {
            ("train", FashionMnist.LoadTrainCached(data), trainCount),
            ("test", FashionMnist.LoadTestCached(data), testCount),
        };
        var counts = new Dictionary<string, int[]>();
        foreach (var (split, source, count) in splits)
        {
            foreach (var folder in ClassFolders) Directory.CreateDirectory(Path.Combine(root, split, folder));
            counts[split] = Write(root, split, source, count, seed, grey, stderr);
        }
        File.WriteAllText(Path.Combine(root, "README.txt"),
            $"colour Fashion-MNIST, made by `sslo data make-colour-fashion --train {trainCount} --test {testCount} --seed {seed} --palette {(grey ? "grey" : "random")}`:\n" +
            (grey ? "the grey control: each garment white on black, i.e. Fashion-MNIST itself as RGB; otherwise as below.\n" : "") +
            "each Fashion-MNIST garment (28x28, its grey value the blend weight) tinted a random colour over a random-colour background,\n" +
            "centred on a 32x32 canvas, PNG, in train|test/<label>-<name>/. fm-<split>-<index>.png is Fashion-MNIST's image <index> of <split>.\n");
        stdout.WriteLine(JsonSerializer.Serialize(new
        {
            to = root,
            seed,
            palette = grey ? "grey" : "random",
            image_size = Side,
            classes = ClassFolders,
            splits = counts.ToDictionary(c => c.Key, c => new { samples = c.Value.Sum(), class_counts = c.Value }),
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
        }));
        return 0;
    }

    private static int[] Write(string root, string split, ImageDataset source, int count, long seed, bool grey, TextWriter stderr)
    {
        // Which garments: the first `count` of a seeded permutation of the split; colours from a second stream.
        var salt = split == "train" ? 0x7A11UL : 0x7E57UL;
        var order = Enumerable.Range(0, source.Count).ToArray();
        new Random(Mix((ulong)seed, salt, 1)).Shuffle(order);
        var picked = order[..count];
        Array.Sort(picked);
        var counts = new int[ClassFolders.Count];
        var rgba = new byte[4 * Side * Side];
        int plane = source.Height * source.Width;
        for (int i = 0; i < picked.Length; i++)
        {
            int index = picked[i];
            var random = new Random(Mix((ulong)seed, salt, 2 + (ulong)index));
            var (foreground, background) = grey ? ([255, 255, 255], [0, 0, 0]) : Colours(random);
            var garment = source.Pixels.AsSpan(index * plane, plane);
            int offset = (Side - source.Width) / 2;
            for (int y = 0; y < Side; y++)
            {
                for (int x = 0; x < Side; x++)
                {
                    int gx = x - offset, gy = y - offset;
                    int a = gx >= 0 && gx < source.Width && gy >= 0 && gy < source.Height ? garment[gy * source.Width + gx] : 0;
                    int p = 4 * (y * Side + x);
                    for (int c = 0; c < 3; c++) rgba[p + c] = (byte)((background[c] * (255 - a) + foreground[c] * a + 127) / 255);
                    rgba[p + 3] = 255;
                }
            }
            int label = source.Labels[index];
            counts[label]++;
            using var image = SKImage.FromPixelCopy(new SKImageInfo(Side, Side, SKColorType.Rgba8888, SKAlphaType.Opaque), rgba, 4 * Side);
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            using var file = File.Create(Path.Combine(root, split, ClassFolders[label], $"fm-{split}-{index.ToString("D5", CultureInfo.InvariantCulture)}.png"));
            png.SaveTo(file);
            if ((i + 1) % 5000 == 0) stderr.WriteLine($"sslo: {split}: {i + 1}/{count} images");
        }
        stderr.WriteLine($"sslo: {split}: {count} images in {ClassFolders.Count} class folders");
        return counts;
    }

    /// <summary>A garment colour and a background colour, drawn until they differ enough (a distance of at least 120 over
    /// R, G, B) that the garment stays visible; the palette says nothing about the class.</summary>
    private static (byte[] Foreground, byte[] Background) Colours(Random random)
    {
        while (true)
        {
            byte[] f = [(byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)];
            byte[] b = [(byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)];
            double distance = Math.Sqrt(Enumerable.Range(0, 3).Sum(c => (double)(f[c] - b[c]) * (f[c] - b[c])));
            if (distance >= 120) return (f, b);
        }
    }

    private static int Mix(ulong seed, ulong salt, ulong index)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL ^ salt * 0xBF58476D1CE4E5B9UL ^ index * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        z *= 0xD6E8FEB86659FD93UL;
        z ^= z >> 32;
        return (int)(z & 0x7FFFFFFF);
    }
}
