using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SslOrleans.Checkpoints;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo checkpoint list|verify|download LOCATION: a run's checkpoints in a folder or az://CONTAINER/PREFIX, for
/// checkpoint consumers. LOCATION may also name a step folder or a manifest.json. The last stdout line is JSON.
/// </summary>
[Verb(40)]
public static class CheckpointCommand
{
    private const string LocationHelp =
        "A run folder or az://CONTAINER/PREFIX (SSLO_STORAGE names the account), a step folder or a manifest.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create() => Sslo.Group("checkpoint", "A run's checkpoints, in a folder or in blob storage", List(), Verify(), Download());

    private static Command List()
    {
        var location = Location();
        var command = new Command("list", "A run's checkpoints: steps, time, metrics, and which one 'latest' names") { location };
        command.SetAction((parsed, _) => ListAsync(CheckpointSource.Open(parsed.GetValue(location)!), parsed.Stdout()));
        return command;
    }

    private static Command Verify()
    {
        var location = Location();
        var step = Step();
        var command = new Command("verify", "Recomputes the sha256 of every file of one checkpoint; exit code 1 when one differs") { location, step };
        command.SetAction(async (parsed, _) =>
        {
            var source = CheckpointSource.Open(parsed.GetValue(location)!);
            return await VerifyAsync(source, parsed.GetValue(step) ?? source.NamedStep, parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    private static Command Download()
    {
        var location = Location();
        var step = Step();
        var to = Flag.Text("--to", "DIR", "The folder to write the files into; required");
        var format = Flag.OneOf("--format", "safetensors: the checkpoint's files; pytorch: also backbone.pt and model.json (docs/checkpoints.md)",
            "safetensors", "safetensors", "pytorch");
        var command = new Command("download", "Writes one checkpoint's files into a folder") { location, step, to, format };
        command.SetAction(async (parsed, _) =>
        {
            var folder = parsed.GetValue(to) ?? throw parsed.Problem("--to DIR is required");
            var source = CheckpointSource.Open(parsed.GetValue(location)!);
            return await DownloadAsync(source, parsed.GetValue(step) ?? source.NamedStep, folder, parsed.GetValue(format)!, parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    private static PositionalArgument Location() => Flag.Positional("LOCATION", LocationHelp, "LOCATION is missing: a run folder, az://CONTAINER/PREFIX, a step folder or a manifest.json");

    private static Option<long?> Step() => Flag.NonNegativeInteger("--step", "The checkpoint of this step (default: the one 'latest' names, or the one LOCATION names)");

    private static async Task<int> ListAsync(CheckpointSource source, TextWriter stdout)
    {
        var entries = await source.ListAsync();
        foreach (var e in entries)
        {
            var metrics = e.Summary is { } s ? string.Join(" ", s.Metrics.Select(m => $"{m.Key}={m.Value.ToString("G6", CultureInfo.InvariantCulture)}")) : e.Problem;
            stdout.WriteLine($"{CheckpointNames.Folder(e.Step)}{(e.IsLatest ? " (latest)" : "")}  {e.Summary?.CreatedUtc.ToString("u", CultureInfo.InvariantCulture) ?? "-"}  {metrics}");
        }
        var latest = entries.FirstOrDefault(e => e.IsLatest)?.Step;
        stdout.WriteLine(JsonSerializer.Serialize(new
        {
            location = source.Location.Text,
            latest,
            checkpoints = entries.Select(e => new
            {
                step = e.Step,
                complete = e.IsComplete,
                latest = e.IsLatest,
                created_utc = e.Summary?.CreatedUtc,
                metrics = e.Summary?.Metrics,
                files = e.Summary?.Files.Count,
                bytes = e.Summary?.Files.Sum(f => f.Bytes),
                problem = e.Problem,
            }),
        }, Json));
        return 0;
    }

    private static async Task<int> VerifyAsync(CheckpointSource source, long? step, TextWriter stdout, TextWriter stderr)
    {
        var checkpoint = await source.OpenAsync(step);
        var problems = await source.Catalog.VerifyAsync(checkpoint.Summary);
        foreach (var p in problems) stderr.WriteLine($"sslo: {p}");
        stdout.WriteLine(problems.Count == 0 ? $"ok {checkpoint.Name}" : $"corrupt {checkpoint.Name}");
        return problems.Count == 0 ? 0 : 1;
    }

    private static async Task<int> DownloadAsync(CheckpointSource source, long? step, string to, string format, TextWriter stdout, TextWriter stderr)
    {
        var checkpoint = await source.OpenAsync(step);
        var folder = Path.GetFullPath(to);
        await source.Catalog.DownloadAsync(checkpoint.Summary, checkpoint.Manifest, folder);
        var written = checkpoint.Summary.Files.Select(f => f.Name).Append(CheckpointNames.Manifest).ToList();
        if (format == "pytorch")
        {
            var card = await PyTorchFiles.WriteAsync(checkpoint, folder);
            written.AddRange([Core.Export.PyTorchExport.StateDictFile, Core.Export.PyTorchExport.CardFile]);
            stderr.WriteLine($"sslo: {card.Backbone} width {card.Width} ({card.Stem} stem), features {card.FeatureDim}: backbone.pt and model.json for PyTorch (docs/checkpoints.md)");
        }
        stderr.WriteLine($"sslo: {checkpoint.Name} → {folder}");
        stdout.WriteLine(JsonSerializer.Serialize(new { location = source.Location.Text, step = checkpoint.Step, to = folder, format, files = written }, Json));
        return 0;
    }
}
