using System.Globalization;
using System.Text.Json;
using SslOrleans.Checkpoints;
using SslOrleans.Cli.Specs;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo checkpoint list|verify|download LOCATION: a run's checkpoints in a folder or az://CONTAINER/PREFIX, for
/// checkpoint consumers. LOCATION may also name a step folder or a manifest.json. The last stdout line is JSON.
/// </summary>
public static class CheckpointCommand
{
    public const string Usage =
        "usage: sslo checkpoint list LOCATION | verify LOCATION [--step N] | download LOCATION [--step N] --to DIR [--format safetensors|pytorch]\n" +
        "       LOCATION: a run folder or az://CONTAINER/PREFIX (SSLO_STORAGE names the account), a step folder or a manifest.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Count < 2 || args[0] is not ("list" or "verify" or "download") || args[1].StartsWith("--", StringComparison.Ordinal))
            throw new SpecException(Usage);
        var command = $"checkpoint {args[0]}";
        var flags = CommandFlags.Parse(args.Skip(2).ToList(), command, Usage, args[0] switch
        {
            "list" => [],
            "verify" => ["step"],
            _ => ["step", "to", "format"],
        }, []);
        var source = CheckpointSource.Open(args[1]);
        long? step = flags.NonNegativeInteger("step") ?? source.NamedStep;
        return args[0] switch
        {
            "list" => await ListAsync(source, stdout),
            "verify" => await VerifyAsync(source, step, stdout, stderr),
            _ => await DownloadAsync(source, step, flags, stdout, stderr),
        };
    }

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

    private static async Task<int> DownloadAsync(CheckpointSource source, long? step, CommandFlags flags, TextWriter stdout, TextWriter stderr)
    {
        var to = flags.Text("to") ?? throw new SpecException($"checkpoint download: --to DIR is required; {Usage}");
        var format = flags.Text("format") ?? "safetensors";
        if (format is not ("safetensors" or "pytorch"))
            throw new SpecException($"checkpoint download: --format '{format}' is unknown; safetensors (the checkpoint's files) or pytorch (also backbone.pt and model.json)");
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
