using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SslOrleans.Cli.Specs;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo bench learn: pretrains every method from its configs/&lt;method&gt;-fashion-mnist.yaml for the same
/// wall-clock budget (BEiT after training its image tokenizer), evaluates each checkpoint and the initial backbone
/// of each architecture with `sslo eval`, and writes the table (each row with its commit) between markers in
/// docs/benchmarks.md, keeping earlier rows of methods not rerun.
/// </summary>
public static class BenchLearnCommand
{
    public const string Begin = "<!-- bench-learn:begin -->";
    public const string End = "<!-- bench-learn:end -->";

    public static Command Create()
    {
        var minutes = Flag.PositiveNumber("--minutes", "Training budget of each method, in minutes", 15);
        var width = Flag.PositiveInteger("--width", "Backbone width", 16);
        var methods = Flag.Valued("--methods", "M1,M2", "The methods to measure, comma-separated [default: " + string.Join(",", Options.AllMethods) + "]",
            text => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } names ? names
                : throw new SpecException("--methods names no method"));
        var tokenizerMinutes = Flag.PositiveNumber("--tokenizer-minutes", "Minutes of BEiT's tokenizer training, outside the budget", 2);
        var workers = Flag.PositiveInteger("--workers", "Workers of each run", 2);
        var batch = Flag.PositiveInteger("--batch", "Global batch of each run", 256);
        var seed = Flag.Integer("--seed", "Seed of each run and tokenizer", 0);
        var configs = Flag.Text("--configs", "DIR", "The folder of configs/<method>-fashion-mnist.yaml", "configs");
        var output = Flag.Text("--out", "DIR", "Where the runs go", Path.Combine("runs", "bench-learn"));
        var doc = Flag.Text("--doc", "FILE", "The document whose table to write (between its bench-learn markers)", Path.Combine("docs", "benchmarks.md"));
        var noDoc = Flag.Switch("--no-doc", "Write no document (the table still goes to stderr)");
        var data = Flag.Text("--data", "DIR", "The dataset's folder (default: the system locations)");
        var trainSamples = Flag.PositiveInteger("--train-samples", "Evaluate on the first N training images (default: all)");
        var testSamples = Flag.PositiveInteger("--test-samples", "Evaluate on the first N test images (default: all)");
        var command = new Command("learn",
            "Pretrains each method from configs/<method>-fashion-mnist.yaml for the same budget (beit after training its tokenizer), " +
            "evaluates each, and writes its rows into the table of docs/benchmarks.md")
        {
            minutes, width, methods, tokenizerMinutes, workers, batch, seed, configs, output, doc, noDoc, data, trainSamples, testSamples,
        };
        command.SetAction((parsed, _) => RunAsync(new Options(
            parsed.GetValue(minutes), parsed.GetValue(width), parsed.GetValue(methods) ?? Options.AllMethods, parsed.GetValue(workers), parsed.GetValue(batch),
            parsed.GetValue(seed), parsed.GetValue(configs)!, parsed.GetValue(output)!, parsed.GetValue(noDoc) ? null : parsed.GetValue(doc), parsed.GetValue(data),
            parsed.GetValue(trainSamples), parsed.GetValue(testSamples), parsed.GetValue(tokenizerMinutes)), parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    private static async Task<int> RunAsync(Options o, TextWriter stdout, TextWriter stderr)
    {
        var commit = Git("rev-parse --short HEAD") + (Git("status --porcelain --untracked-files=no").Length > 0 ? "+dirty" : "");
        var date = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var rows = new List<BenchRow>();
        var inits = new Dictionary<string, InitRow>();
        foreach (var method in o.Methods)
        {
            var config = Path.Combine(o.Configs, $"{method}-fashion-mnist.yaml");
            if (!File.Exists(config)) throw new SpecException($"bench learn: {config} does not exist (method '{method}' needs a config)");
            var runDir = Path.Combine(o.Out, $"{method}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            var pretrainArgs = new List<string> { "--config", config, "--minutes", Num(o.Minutes), "--width", o.Width.ToString(CultureInfo.InvariantCulture),
                "--workers", o.Workers.ToString(CultureInfo.InvariantCulture), "--batch", o.Batch.ToString(CultureInfo.InvariantCulture),
                "--seed", o.Seed.ToString(CultureInfo.InvariantCulture), "--out", runDir, "--no-eval" };
            if (o.Data is not null) pretrainArgs.AddRange(["--data", o.Data]);
            string? note = null;
            var configSpec = Grains.Runs.RunPlan.WithMethodDefaults(SpecLoader.FromYaml(new(), config));
            if (Core.Methods.MethodRegistry.Recipe(configSpec.Method).NeedsTokenizer)
            {
                // The tokenizer is trained afresh on the same data, outside the pretraining budget.
                var tokenizerDir = runDir + "-tokenizer";
                if (o.Seed is < 0 or > int.MaxValue) throw new SpecException($"bench learn: --seed {o.Seed}: the tokenizer takes a seed from 0 to {int.MaxValue}");
                var tokenizerSettings = new TokenizerCommand.TokenizerSettings
                {
                    Dataset = configSpec.Dataset, Data = o.Data, Minutes = o.TokenizerMinutes, PatchSize = configSpec.PatchSize, Seed = (int)o.Seed, Out = tokenizerDir,
                };
                stderr.WriteLine($"sslo bench: {method}: training its image tokenizer for {Num(o.TokenizerMinutes)} minutes");
                var tokenizer = await Capture((w, e) => Task.FromResult(TokenizerCommand.Train(tokenizerSettings, w, e)), stderr, $"tokenizer for {method}");
                pretrainArgs.AddRange(["--tokenizer", tokenizerDir]);
                note = $"tokenizer: {Num(o.TokenizerMinutes)} min, {tokenizer.GetProperty("steps").GetInt64()} steps, " +
                       $"{tokenizer.GetProperty("codes_used").GetInt32()}/{tokenizer.GetProperty("codebook_size").GetInt32()} codes used";
            }
            stderr.WriteLine($"sslo bench: {method}: pretraining for {Num(o.Minutes)} minutes");
            // Parsed as `sslo pretrain` would parse these flags: the config's keys, with the bench's over them.
            var pretrainSpec = SpecLoader.Load(pretrainArgs);
            var run = await Capture((w, e) => PretrainCommand.RunAsync(pretrainSpec, null, w, e), stderr, $"pretrain {method}");
            var evalSettings = new EvalCommand.EvalSettings(runDir, Data: o.Data, TrainSamples: o.TrainSamples, TestSamples: o.TestSamples);
            var eval = await Capture((w, e) => Task.FromResult(EvalCommand.Run(evalSettings, w, e)), stderr, $"eval {method}");
            var backbone = eval.GetProperty("backbone").GetString()!;
            // Every method builds its backbone first from the same seed: one initial backbone per architecture serves them all.
            if (!inits.ContainsKey(backbone))
            {
                var init = await Capture((w, e) => Task.FromResult(EvalCommand.Run(evalSettings with { Init = true }, w, e)), stderr, $"eval of the initial {backbone}");
                inits[backbone] = new InitRow(backbone, commit, o.Width, o.Seed, Score(init, "knn_top1_k200"), Score(init, "knn_top1_k20"), Score(init, "linear_top1"));
            }
            var row = new BenchRow(method, backbone, commit, date, o.Minutes, o.Width, o.Workers, o.Batch, o.Seed,
                run.GetProperty("steps").GetInt64(), run.GetProperty("epochs").GetDouble(), run.GetProperty("images_per_sec").GetDouble(),
                run.GetProperty("loss_first").GetDouble(), run.GetProperty("loss_last").GetDouble(),
                Score(eval, "knn_top1_k200"), Score(eval, "knn_top1_k20"), Score(eval, "linear_top1"),
                eval.TryGetProperty("online_probe_top1", out var op) && op.ValueKind == JsonValueKind.Number ? op.GetDouble() : null, note);
            rows.Add(row);
            stdout.WriteLine(JsonSerializer.Serialize(new { method, pretrain = run, eval }));
        }
        var data = new BenchData(rows, inits.Values.ToList(), Machine());
        if (o.Doc is not null) data = Merge(ReadData(o.Doc), data, o, stderr);
        var table = Table(o, data);
        stderr.WriteLine(table);
        if (o.Doc is not null) WriteIntoDoc(o.Doc, table);
        stdout.WriteLine(JsonSerializer.Serialize(new
        {
            minutes = o.Minutes, width = o.Width,
            methods = rows.Select(r => new { method = r.Method, backbone = r.Backbone, steps = r.Steps, images_per_sec = r.ImagesPerSec, knn_top1_k200 = r.Knn200, knn_top1_k20 = r.Knn20, linear_top1 = r.Linear }),
            init = inits.Values.Select(i => new { backbone = i.Backbone, knn_top1_k200 = i.Knn200, knn_top1_k20 = i.Knn20, linear_top1 = i.Linear }),
        }, JsonLines.Options));
        return 0;
    }

    private static double Score(JsonElement e, string key) => e.GetProperty(key).GetDouble();

    /// <summary>One method's measurement, kept in the document (as JSON) so a later run of other methods can add to the table.</summary>
    public sealed record BenchRow(string Method, string Backbone, string Commit, string Date, double Minutes, int Width, int Workers, int Batch, long Seed,
        long Steps, double Epochs, double ImagesPerSec, double LossFirst, double LossLast, double Knn200, double Knn20, double Linear, double? Online, string? Note);

    public sealed record InitRow(string Backbone, string Commit, int Width, long Seed, double Knn200, double Knn20, double Linear);

    public sealed record BenchData(List<BenchRow> Rows, List<InitRow> Init, string Machine);

    /// <summary>Runs a command in-process with its own stdout; its stderr goes through; returns its JSON line.</summary>
    private static async Task<JsonElement> Capture(Func<TextWriter, TextWriter, Task<int>> command, TextWriter stderr, string what)
    {
        var output = new StringWriter();
        int code = await command(output, stderr);
        var last = output.ToString().TrimEnd().Split('\n')[^1];
        if (code != 0) throw new InvalidOperationException($"bench learn: {what} exited with {code}");
        using var json = JsonDocument.Parse(last);
        return json.RootElement.Clone();
    }

    private static BenchData? ReadData(string doc)
    {
        if (!File.Exists(doc)) return null;
        var line = File.ReadLines(doc).FirstOrDefault(l => l.StartsWith(DataPrefix, StringComparison.Ordinal));
        if (line is null) return null;
        var json = line[DataPrefix.Length..^DataSuffix.Length];
        try
        {
            return JsonSerializer.Deserialize<BenchData>(json, JsonLines.Options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{doc}: the bench-learn data line is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// This run's rows replace the same methods' rows; earlier rows of other methods stay when they were measured with
    /// the same budget, width, workers, batch and seed (each row keeps its commit), and are dropped otherwise.
    /// </summary>
    private static BenchData Merge(BenchData? earlier, BenchData now, Options o, TextWriter stderr)
    {
        if (earlier is null) return now;
        bool Same(BenchRow r) => r.Minutes == o.Minutes && r.Width == o.Width && r.Workers == o.Workers && r.Batch == o.Batch && r.Seed == o.Seed;
        var rows = new List<BenchRow>();
        foreach (var r in earlier.Rows.Where(r => !now.Rows.Any(n => n.Method == r.Method)))
        {
            if (Same(r)) rows.Add(r);
            else stderr.WriteLine($"sslo bench: dropping the earlier {r.Method} row: it was measured with other settings ({Num(r.Minutes)} min, width {r.Width}, {r.Workers} workers, batch {r.Batch}, seed {r.Seed})");
        }
        rows.AddRange(now.Rows);
        var order = new List<string>(Options.AllMethods);
        rows = rows.OrderBy(r => order.IndexOf(r.Method) is var i && i >= 0 ? i : int.MaxValue).ThenBy(r => r.Method, StringComparer.Ordinal).ToList();
        var init = earlier.Init.Where(i => i.Width == o.Width && i.Seed == o.Seed && !now.Init.Any(n => n.Backbone == i.Backbone)).Concat(now.Init)
            .Where(i => rows.Any(r => r.Backbone == i.Backbone)).ToList();
        return new BenchData(rows, init, now.Machine);
    }

    private const string DataPrefix = "<!-- bench-learn:data ";
    private const string DataSuffix = " -->";

    private static string Table(Options o, BenchData data)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Each method from `configs/<method>-fashion-mnist.yaml` for **{Num(o.Minutes)} minutes** of training at width {o.Width}, " +
                      $"{o.Workers} workers, batch {o.Batch}, seed {o.Seed}; then `sslo eval` on {(o.TrainSamples is null && o.TestSamples is null ? "all 60 000 / 10 000 images" : $"the first {o.TrainSamples?.ToString() ?? "60 000"} / {o.TestSamples?.ToString() ?? "10 000"} images")}. " +
                      "Top-1 in percent. The initial backbone of an architecture is the same for every method (same seed, built first). " +
                      "Each row names the commit it was measured on; `sslo bench learn --methods M` replaces the rows of M only.");
        sb.AppendLine($"On {data.Machine}. Reproduce: `{Reproduce(o)}` (the rows of some methods only: add `METHODS=m1,m2`).");
        sb.AppendLine();
        sb.AppendLine("| method | backbone | steps | epochs | images/s | loss first → last | kNN top-1 k=200 | kNN top-1 k=20 | linear probe | online probe | commit |");
        sb.AppendLine("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|");
        foreach (var r in data.Rows)
        {
            sb.AppendLine($"| {r.Method} | {r.Backbone} | {r.Steps} | {r.Epochs:F2} | {r.ImagesPerSec:F0} | {r.LossFirst:G4} → {r.LossLast:G4} | " +
                          $"{r.Knn200:F2} | {r.Knn20:F2} | {r.Linear:F2} | {(r.Online is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "–")} | `{r.Commit}` {r.Date} |");
        }
        foreach (var i in data.Init)
            sb.AppendLine($"| *initial backbone* | {i.Backbone} | 0 | 0 | – | – | {i.Knn200:F2} | {i.Knn20:F2} | {i.Linear:F2} | – | `{i.Commit}` |");
        var notes = data.Rows.Where(r => r.Note is not null).Select(r => $"{r.Method}: {r.Note}").ToList();
        if (notes.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Outside the budget: " + string.Join("; ", notes) + ".");
        }
        sb.AppendLine(DataPrefix + JsonSerializer.Serialize(data, JsonLines.Options) + DataSuffix);
        return sb.ToString();
    }

    private static string Reproduce(Options o) =>
        $"make bench-learn LEARN_MINUTES={Num(o.Minutes)}" + (o.Width != 16 ? $" WIDTH={o.Width}" : "");

    private static void WriteIntoDoc(string doc, string table)
    {
        var text = File.Exists(doc) ? File.ReadAllText(doc) : "";
        int b = text.IndexOf(Begin, StringComparison.Ordinal), e = text.IndexOf(End, StringComparison.Ordinal);
        var block = $"{Begin}\n{table}{End}";
        text = b >= 0 && e > b ? text[..b] + block + text[(e + End.Length)..] : text.TrimEnd() + $"\n\n## Learning benchmark\n\n{block}\n";
        File.WriteAllText(doc, text);
    }

    private static string Git(string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("git", args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            var output = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    private static string Machine()
    {
        var model = BenchDataCommand.CpuModel();
        double gib = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)(1L << 30);
        return $"{model ?? "unknown CPU"}, {Environment.ProcessorCount} cores, {gib:F0} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
    }

    private static string Num(double x) => x.ToString("0.###", CultureInfo.InvariantCulture);

    private sealed record Options(double Minutes, int Width, IReadOnlyList<string> Methods, int Workers, int Batch, long Seed,
        string Configs, string Out, string? Doc, string? Data, int? TrainSamples = null, int? TestSamples = null, double TokenizerMinutes = 2)
    {
        public static readonly string[] AllMethods = ["byol", "simclr", "barlow", "rotnet", "mae", "beit"];
    }
}
