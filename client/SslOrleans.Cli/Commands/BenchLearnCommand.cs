using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SslOrleans.Cli.Specs;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo bench learn: pretrains every method from its configs/&lt;method&gt;-fashion-mnist.yaml for the same
/// wall-clock budget, evaluates each checkpoint and the common initial backbone with `sslo eval`, and writes
/// the table (with commit and machine) between markers in docs/benchmarks.md.
/// </summary>
public static class BenchLearnCommand
{
    public const string Usage = "usage: sslo bench learn [--minutes 15] [--width 16] [--methods byol,simclr,barlow,rotnet] [--workers 2] [--batch 256] " +
                                "[--seed 0] [--configs configs] [--out runs/bench-learn] [--doc docs/benchmarks.md | --no-doc] [--data DIR] [--train-samples N] [--test-samples N]";
    public const string Begin = "<!-- bench-learn:begin -->";
    public const string End = "<!-- bench-learn:end -->";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var o = Options.Parse(args);
        var rows = new List<Row>();
        JsonElement? init = null;
        foreach (var method in o.Methods)
        {
            var config = Path.Combine(o.Configs, $"{method}-fashion-mnist.yaml");
            if (!File.Exists(config)) throw new SpecException($"bench learn: {config} does not exist (method '{method}' needs a config)");
            var runDir = Path.Combine(o.Out, $"{method}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            var pretrainArgs = new List<string> { "--config", config, "--minutes", Num(o.Minutes), "--width", o.Width.ToString(CultureInfo.InvariantCulture),
                "--workers", o.Workers.ToString(CultureInfo.InvariantCulture), "--batch", o.Batch.ToString(CultureInfo.InvariantCulture),
                "--seed", o.Seed.ToString(CultureInfo.InvariantCulture), "--out", runDir, "--no-eval" };
            if (o.Data is not null) pretrainArgs.AddRange(["--data", o.Data]);
            stderr.WriteLine($"sslo bench: {method}: pretraining for {o.Minutes} minutes");
            var run = await Capture((w, e) => PretrainCommand.RunAsync(pretrainArgs, w, e), stderr, $"pretrain {method}");
            var evalArgs = new List<string> { "--checkpoint", runDir };
            if (o.Data is not null) evalArgs.AddRange(["--data", o.Data]);
            if (o.TrainSamples is { } tr) evalArgs.AddRange(["--train-samples", tr.ToString(CultureInfo.InvariantCulture)]);
            if (o.TestSamples is { } te) evalArgs.AddRange(["--test-samples", te.ToString(CultureInfo.InvariantCulture)]);
            var eval = await Capture((w, e) => Task.FromResult(EvalCommand.Run(evalArgs, w, e)), stderr, $"eval {method}");
            // Every method builds its backbone first from the same seed: one initial backbone serves them all.
            init ??= await Capture((w, e) => Task.FromResult(EvalCommand.Run([.. evalArgs, "--init"], w, e)), stderr, "eval of the initial backbone");
            rows.Add(new Row(method, run, eval));
            stdout.WriteLine(JsonSerializer.Serialize(new { method, pretrain = run, eval }));
        }
        var table = Table(o, rows, init!.Value);
        stderr.WriteLine(table);
        if (o.Doc is not null) WriteIntoDoc(o.Doc, table);
        stdout.WriteLine(JsonSerializer.Serialize(new
        {
            minutes = o.Minutes, width = o.Width,
            methods = rows.Select(r => new
            {
                method = r.Method, steps = r.Run.GetProperty("steps").GetInt64(), images_per_sec = r.Run.GetProperty("images_per_sec").GetDouble(),
                knn_top1_k200 = r.Eval.GetProperty("knn_top1_k200").GetDouble(), knn_top1_k20 = r.Eval.GetProperty("knn_top1_k20").GetDouble(),
                linear_top1 = r.Eval.GetProperty("linear_top1").GetDouble(),
            }),
            init = new { knn_top1_k200 = init.Value.GetProperty("knn_top1_k200").GetDouble(), knn_top1_k20 = init.Value.GetProperty("knn_top1_k20").GetDouble(), linear_top1 = init.Value.GetProperty("linear_top1").GetDouble() },
        }));
        return 0;
    }

    private sealed record Row(string Method, JsonElement Run, JsonElement Eval);

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

    private static string Table(Options o, List<Row> rows, JsonElement init)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"Each method from `configs/<method>-fashion-mnist.yaml` for **{Num(o.Minutes)} minutes** of training at width {o.Width}, " +
                      $"{o.Workers} workers, batch {o.Batch}, seed {o.Seed}; then `sslo eval` on {(o.TrainSamples is null && o.TestSamples is null ? "all 60 000 / 10 000 images" : $"the first {o.TrainSamples?.ToString() ?? "60 000"} / {o.TestSamples?.ToString() ?? "10 000"} images")}. " +
                      "Top-1 in percent; the initial backbone is the same for every method (same seed, built first).");
        sb.AppendLine($"Commit `{Git("rev-parse --short HEAD")}`{(Git("status --porcelain --untracked-files=no").Length > 0 ? " (with uncommitted changes)" : "")}, " +
                      $"{DateTime.UtcNow:yyyy-MM-dd}, on {Machine()}. Reproduce: `{Reproduce(o)}`.");
        sb.AppendLine();
        sb.AppendLine("| method | steps | epochs | images/s | loss first → last | kNN top-1 k=200 | kNN top-1 k=20 | linear probe | online probe |");
        sb.AppendLine("|---|---:|---:|---:|---|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            double? online = r.Eval.TryGetProperty("online_probe_top1", out var op) && op.ValueKind == JsonValueKind.Number ? op.GetDouble() : null;
            sb.AppendLine($"| {r.Method} | {r.Run.GetProperty("steps").GetInt64()} | {r.Run.GetProperty("epochs").GetDouble():F2} | " +
                          $"{r.Run.GetProperty("images_per_sec").GetDouble():F0} | {r.Run.GetProperty("loss_first").GetDouble():G4} → {r.Run.GetProperty("loss_last").GetDouble():G4} | " +
                          $"{r.Eval.GetProperty("knn_top1_k200").GetDouble():F2} | {r.Eval.GetProperty("knn_top1_k20").GetDouble():F2} | " +
                          $"{r.Eval.GetProperty("linear_top1").GetDouble():F2} | {(online is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "–")} |");
        }
        sb.AppendLine($"| *initial backbone* | 0 | 0 | – | – | {init.GetProperty("knn_top1_k200").GetDouble():F2} | {init.GetProperty("knn_top1_k20").GetDouble():F2} | " +
                      $"{init.GetProperty("linear_top1").GetDouble():F2} | – |");
        return sb.ToString();
    }

    private static string Reproduce(Options o) =>
        $"make bench-learn LEARN_MINUTES={Num(o.Minutes)}" + (o.Width != 16 ? $" WIDTH={o.Width}" : "") + (o.Methods.Count != 4 ? $" METHODS={string.Join(',', o.Methods)}" : "");

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
        var model = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        double gib = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (double)(1L << 30);
        return $"{model ?? "unknown CPU"}, {Environment.ProcessorCount} cores, {gib:F0} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
    }

    private static string Num(double x) => x.ToString("0.###", CultureInfo.InvariantCulture);

    private sealed record Options(double Minutes, int Width, IReadOnlyList<string> Methods, int Workers, int Batch, long Seed,
        string Configs, string Out, string? Doc, string? Data, int? TrainSamples = null, int? TestSamples = null)
    {
        public static Options Parse(IReadOnlyList<string> args)
        {
            var o = new Options(15, 16, ["byol", "simclr", "barlow", "rotnet"], 2, 256, 0, "configs", Path.Combine("runs", "bench-learn"), Path.Combine("docs", "benchmarks.md"), null);
            for (int i = 0; i < args.Count; i++)
            {
                var name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..].Replace('_', '-') : throw new SpecException($"bench learn: unexpected argument '{args[i]}'; {Usage}");
                if (name == "no-doc") { o = o with { Doc = null }; continue; }
                if (i + 1 >= args.Count) throw new SpecException($"bench learn: --{name} needs a value");
                var v = args[++i];
                o = name switch
                {
                    "minutes" => o with { Minutes = Positive(double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : -1, name, v) },
                    "width" => o with { Width = (int)Positive(int.TryParse(v, out var w) ? w : -1, name, v) },
                    "workers" => o with { Workers = (int)Positive(int.TryParse(v, out var k) ? k : -1, name, v) },
                    "batch" => o with { Batch = (int)Positive(int.TryParse(v, out var b) ? b : -1, name, v) },
                    "seed" => o with { Seed = long.TryParse(v, out var s) ? s : throw new SpecException($"bench learn: --seed wants an integer, got '{v}'") },
                    "methods" => o with { Methods = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                    "configs" => o with { Configs = v },
                    "out" => o with { Out = v },
                    "doc" => o with { Doc = v },
                    "data" => o with { Data = v },
                    "train-samples" => o with { TrainSamples = (int)Positive(int.TryParse(v, out var n1) ? n1 : -1, name, v) },
                    "test-samples" => o with { TestSamples = (int)Positive(int.TryParse(v, out var n2) ? n2 : -1, name, v) },
                    _ => throw new SpecException($"bench learn: unknown flag '--{name}'; {Usage}"),
                };
            }
            if (o.Methods.Count == 0) throw new SpecException("bench learn: --methods names no method");
            return o;
        }

        private static double Positive(double x, string name, string v) =>
            x > 0 ? x : throw new SpecException($"bench learn: --{name} wants a positive number, got '{v}'");
    }
}
