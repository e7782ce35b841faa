using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SslOrleans.Abstractions.Data;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data.Images;
using SslOrleans.Grains.Data;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo data inspect LOCATION: the check pass a run makes before it trains (every image decoded once; the report is
/// cached), per split: samples, classes and their counts, the per-channel statistics, and every bad sample by name.
/// Exit code 1 when a sample cannot be decoded, so that a script can refuse the dataset.
/// </summary>
public static class DataInspectCommand
{
    public static Command Create()
    {
        var location = Flag.Positional("LOCATION", "The dataset: a folder or az://CONTAINER/PREFIX", "LOCATION is missing: the dataset's folder or az://CONTAINER/PREFIX");
        var dataset = Flag.Text("--dataset", "FORMAT", "imagefolder, tar, cifar10, cifar100 or stl10 (default: told by the files)");
        var imageSize = Flag.PositiveInteger("--image-size", "Decode at this side, as a run would (default: the format's own, 64 for folders and shards)");
        var channels = Flag.OneOf("--channels", "1 (luma) or 3 (RGB), as a run would decode them", "3", "1", "3");
        var command = new Command("inspect", "Counts a dataset's samples and classes per split and names every image that cannot be decoded (exit code 1 if any)")
        {
            location, dataset, imageSize, channels,
        };
        command.SetAction(async (parsed, _) =>
        {
            var root = await DataLocations.LocalFolderAsync(parsed.GetValue(location)!, "inspect: LOCATION");
            var format = parsed.GetValue(dataset) ?? DatasetFormats.Detect(root);
            if (!DatasetFormats.Known.Contains(format))
                throw parsed.Problem($"--dataset '{format}' is unknown; known: {string.Join(", ", DatasetFormats.Known)}");
            int size = parsed.GetValue(imageSize) ?? DatasetShapes.ImageSize(format);
            return Inspect(parsed.GetValue(location)!, root, format, int.Parse(parsed.GetValue(channels)!, CultureInfo.InvariantCulture), size,
                parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    private static int Inspect(string location, string root, string format, int channels, int size, TextWriter stdout, TextWriter stderr)
    {
        var splits = DatasetFormats.HasTestSplit(format, root) ? new[] { "train", "test" } : ["train"];
        var reports = new List<DatasetReport>();
        foreach (var split in splits)
        {
            DatasetReport report;
            try
            {
                using var reader = DatasetFormats.Open(format, root, split);
                report = DatasetChecks.Run(reader, root, channels, size, DatasetChecks.Printer(stderr));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
            {
                throw new SpecException($"inspect: {e.Message}");
            }
            reports.Add(report);
            var classes = report.Classes == 0 ? "unlabelled"
                : $"{report.Classes} classes: " + string.Join(", ", report.ClassNames.Zip(report.ClassCounts, (n, c) => $"{n} {c}"));
            stderr.WriteLine($"sslo: {split}: {report.GoodCount} of {report.Count} samples decode; {classes}");
            foreach (var bad in report.BadSamples) stderr.WriteLine($"sslo: {split}: bad sample {bad.Sample}: {bad.Reason}");
        }
        stdout.WriteLine(JsonSerializer.Serialize(new
        {
            location,
            dataset = format,
            image_size = size,
            channels,
            splits = splits.Zip(reports, (split, r) => new
            {
                split,
                samples = r.Count,
                good = r.GoodCount,
                classes = r.Classes,
                class_names = r.ClassNames,
                class_counts = r.ClassCounts,
                mean = r.Mean,
                std = r.Std,
                bad = r.BadSamples.Select(b => new { sample = b.Sample, reason = b.Reason }),
            }),
        }));
        return reports.Any(r => r.BadSamples.Count > 0) ? 1 : 0;
    }
}
