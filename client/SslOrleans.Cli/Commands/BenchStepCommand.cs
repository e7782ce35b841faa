using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data;
using SslOrleans.Core.Evaluation;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;
using SslOrleans.Core.Numerics;
using SslOrleans.Core.Training;
using TorchSharp;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo bench step: one worker's training step, ours against PyTorch side by side. In this process one Core
/// <see cref="Replica"/> runs N steps as a worker and a shard do them (SimCLR's embedding pass, then
/// <see cref="Replica.ComputeGradients"/>; then the mean gradient, LARS, the buffers' mean and the EMA target through
/// <see cref="FlatOptimizer"/>, and the new state loaded back), with the time split into views, forward, backward,
/// gather and optimizer; then bench/step.py, under Debian's Python and PyTorch, trains the same model on the same
/// batch and micro-batches with the same settings. Both sides read synthetic 28×28 grey images (Fashion-MNIST's
/// shape). --extract N adds eval-mode, no-grad feature extraction of N images on both sides. JSON as the last line.
/// </summary>
public static class BenchStepCommand
{
    public static readonly string[] Methods = ["byol", "simclr"];
    public static readonly string[] Backbones = ["resnet18", "resnet50"];
    private const int ImageSide = 28;

    public static Command Create()
    {
        var method = Flag.OneOf("--method", "The method whose step is measured", "byol", Methods);
        var backbone = Flag.OneOf("--backbone", "The backbone (CIFAR stem)", "resnet18", Backbones);
        var width = Flag.PositiveInteger("--width", "Width of the backbone", 16);
        var batch = Flag.PositiveInteger("--batch", "Images per step", 256);
        var microBatch = Flag.PositiveInteger("--micro-batch", "Images per micro-batch (batch norm's batch); divides --batch", 32);
        var threads = Flag.PositiveInteger("--threads", "Intra-op threads on both sides", 1);
        var steps = Flag.PositiveInteger("--steps", "Measured steps", 10);
        var warmup = Flag.NonNegativeInteger("--warmup", "Steps before the measured ones", 2);
        var extract = Flag.NonNegativeInteger("--extract", "Also extract eval-mode backbone features of this many images on both sides (0: no)", 0);
        var extractBatch = Flag.PositiveInteger("--extract-batch", "Images per extraction batch", BackboneEvaluation.ExtractionBatch);
        var graphCache = Flag.NonNegativeInteger("--graph-cache-images",
            "Images whose embedding-pass graphs a replica keeps for the gradient pass (SimCLR; 0: every micro-batch computed twice, as before)", Replica.DefaultGraphCacheImages);
        var pytorch = Flag.Switch("--pytorch", "Run the same step in PyTorch beside ours; --pytorch false measures ours alone [default: true]", defaultValue: true);
        var python = Flag.Text("--python", "PATH", "The Python that has torch (Debian's)", BenchScripts.DefaultPython);
        var script = Flag.Text("--script", "PATH", "bench/step.py (default: found in the repository above sslo, or under the current folder)");
        var seed = Flag.Integer("--seed", "Seed of the model, the images and the views", 0);
        var json = CommonOptions.Json();
        var command = new Command("step",
            "One worker's training step (views, forward, backward, optimizer) in images/s, beside the same model, batch and LARS in PyTorch " +
            "(bench/step.py); --extract N adds feature extraction; JSON as the last stdout line")
        {
            method, backbone, width, batch, microBatch, threads, steps, warmup, extract, extractBatch, graphCache, pytorch, python, script, seed, json,
        };
        command.SetAction(parsed =>
        {
            int b = parsed.GetValue(batch), m = parsed.GetValue(microBatch);
            if (b % m != 0) throw parsed.Problem($"--batch {b} is not a multiple of --micro-batch {m}");
            var name = parsed.GetValue(method)!;
            if (name == "simclr" && b < 2) throw parsed.Problem("--batch: SimCLR's loss needs at least 2 images per step");
            var settings = new Settings(name, parsed.GetValue(backbone)!, parsed.GetValue(width), b, m, parsed.GetValue(threads),
                parsed.GetValue(steps), parsed.GetValue(warmup), parsed.GetValue(extract), parsed.GetValue(extractBatch), parsed.GetValue(graphCache), parsed.GetValue(pytorch),
                parsed.GetValue(python)!, parsed.GetValue(script), parsed.GetValue(seed), parsed.GetValue(json));
            string? stepPy = settings.PyTorch ? Script(settings.Script) : null;
            // Named before minutes of our side run, not after.
            if (settings.PyTorch && settings.Python.Contains('/') && !File.Exists(settings.Python))
                throw parsed.Problem($"--python {settings.Python} does not exist: give Debian's Python with torch, or --pytorch false");
            return Run(settings, stepPy, parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    public sealed record Settings(string Method, string Backbone, int Width, int Batch, int MicroBatch, int Threads, int Steps, int Warmup,
        int Extract, int ExtractBatch, int GraphCacheImages, bool PyTorch, string Python, string? Script, long Seed, bool Json);

    /// <summary>Our side's result: images/s, seconds per step and the step's parts (seconds per step).</summary>
    public sealed record Side(double ImagesPerS, double StepS, Dictionary<string, double> BreakdownS, double? ExtractPerS, long Parameters);

    private static int Run(Settings o, string? stepPy, TextWriter stdout, TextWriter stderr)
    {
        int threadsBefore = torch.get_num_threads();
        Side ours;
        try
        {
            torch.set_num_threads(o.Threads);
            stderr.WriteLine($"sslo bench step: {o.Method}, {o.Backbone} width {o.Width}, batch {o.Batch} in micro-batches of {o.MicroBatch}, " +
                             $"{o.Threads} thread(s), {o.Warmup} warm-up + {o.Steps} measured steps, synthetic {ImageSide}×{ImageSide} grey images; " +
                             $"{CpuIdentity.Current}, load {LoadAverage() ?? "?"}");
            ours = Ours(o, stderr);
        }
        finally
        {
            torch.set_num_threads(threadsBefore);
        }
        stderr.WriteLine($"  ours: {ours.ImagesPerS:F1} images/s ({ours.StepS:F3} s per step)" + (ours.ExtractPerS is { } e ? $", extraction {e:F0} images/s" : ""));

        JsonObject? theirs = null;
        if (stepPy is not null)
        {
            stderr.WriteLine($"  pytorch: {o.Python} {stepPy} …");
            theirs = RunPyTorch(o, stepPy);
        }

        double? pytorchRate = theirs?["images_per_s"]?.GetValue<double>();
        double? ratio = pytorchRate is > 0 ? ours.ImagesPerS / pytorchRate : null;
        double? theirExtract = theirs?["extract"]?["images_per_s"]?.GetValue<double>();
        double? extractRatio = ours.ExtractPerS is { } oe && theirExtract is > 0 ? oe / theirExtract : null;
        if (!o.Json) PrintTable(stdout, o, ours, theirs, ratio, extractRatio);

        var result = new JsonObject
        {
            ["method"] = o.Method,
            ["backbone"] = o.Backbone,
            ["width"] = o.Width,
            ["batch"] = o.Batch,
            ["micro_batch"] = o.MicroBatch,
            ["threads"] = o.Threads,
            ["steps"] = o.Steps,
            ["warmup"] = o.Warmup,
            ["graph_cache_images"] = o.GraphCacheImages,
            ["images"] = $"synthetic {ImageSide}x{ImageSide} grey",
            ["processor"] = CpuIdentity.Current.ToString(),
            ["cpu_model"] = BenchDataCommand.CpuModel(),
            ["cores"] = Environment.ProcessorCount,
            ["load_average"] = LoadAverage(),
            ["onednn"] = OneDnnIsaGuard.Decision.ToString(),
            ["ours"] = new JsonObject
            {
                ["images_per_s"] = Math.Round(ours.ImagesPerS, 2),
                ["step_s"] = Math.Round(ours.StepS, 5),
                ["breakdown_s"] = new JsonObject(ours.BreakdownS.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Math.Round(kv.Value, 5)))),
                ["parameters"] = ours.Parameters,
                ["extract"] = ours.ExtractPerS is { } x ? new JsonObject { ["images"] = o.Extract, ["batch"] = o.ExtractBatch, ["images_per_s"] = Math.Round(x, 2) } : null,
            },
            ["pytorch"] = theirs,
            ["ours_over_pytorch"] = ratio is { } r ? Math.Round(r, 4) : null,
            ["extract_ours_over_pytorch"] = extractRatio is { } er ? Math.Round(er, 4) : null,
        };
        stdout.WriteLine(result.ToJsonString(new JsonSerializerOptions(JsonLines.Options) { WriteIndented = false }));
        return 0;
    }

    private static Side Ours(Settings o, TextWriter stderr)
    {
        // Synthetic images, as bench/step.py makes them: uniform bytes, seeded.
        int count = Math.Max(o.Batch, o.Extract);
        var pixels = new byte[(long)count * ImageSide * ImageSide];
        new Random(unchecked((int)o.Seed)).NextBytes(pixels);
        var data = new ImageDataset("bench-step", 1, ImageSide, ImageSide, pixels, new byte[count], classes: 10);

        var options = new MethodOptions(o.Method, new BackboneOptions(o.Backbone, o.Width, 1, "cifar", 4, ImageSide), o.Seed);
        using var replica = new Replica(options) { GraphCacheImages = o.GraphCacheImages };
        var recipe = MethodRegistry.Recipe(o.Method);
        var optimizer = new OptimizerSettings(OptimizerSettings.ParseKind(recipe.Optimizer), WeightDecay: recipe.WeightDecay);
        double lr = recipe.Lr * o.Batch / 256.0;
        var layout = replica.Layout;
        var tensors = layout.Parameters.Select(s => new SliceTensor(s.Offset, s.Length, s.Excluded)).ToArray();
        var state = replica.ReadState();
        var momentum = new float[layout.ParameterCount];
        var mean = new float[layout.ParameterCount + layout.BufferCount];
        var sum = new double[mean.Length];
        int microBatches = o.Batch / o.MicroBatch;
        var order = new Random(unchecked((int)o.Seed) + 1);
        var timings = new StepTimings();
        double optimizerSeconds = 0, total = 0;

        for (int step = 0; step < o.Warmup + o.Steps; step++)
        {
            bool measured = step >= o.Warmup;
            var all = Enumerable.Range(0, count).ToArray();
            order.Shuffle(all);
            var samples = all[..o.Batch];
            var batches = Enumerable.Range(0, microBatches)
                .Select(j => new MicroBatch(j, samples[(j * o.MicroBatch)..((j + 1) * o.MicroBatch)], (ulong)(o.Seed * 1_000_003 + step * 1009 + j)))
                .ToList();
            replica.Timings = measured ? timings : null;
            var clock = Stopwatch.StartNew();
            var embeddings = replica.NeedsBatchEmbeddings ? new BatchEmbeddings(replica.Embed(batches, data), microBatches) : null;
            var g = replica.ComputeGradients(batches, data, embeddings);
            double computed = clock.Elapsed.TotalSeconds;
            // What the shards and the sync do: the mean of the sums, LARS, the buffers' mean, the EMA target, the new state loaded.
            g.Gradients.CopyTo(sum, 0);
            g.BufferSums.CopyTo(sum, g.Gradients.Length);
            FlatOptimizer.MeanToSingle(sum, microBatches, mean);
            int p = (int)layout.ParameterCount;
            FlatOptimizer.Step(state.Parameters, mean.AsSpan(0, p), momentum, tensors, optimizer, lr);
            mean.AsSpan(p).CopyTo(state.Buffers);
            FlatOptimizer.Ema(state.Target, state.Parameters.AsSpan(0, state.Target.Length), 0.99);
            replica.LoadState(state);
            double seconds = clock.Elapsed.TotalSeconds;
            if (!double.IsFinite(g.LossSum)) throw new InvalidOperationException($"bench step: the loss of step {step} is {g.LossSum}");
            if (measured)
            {
                optimizerSeconds += seconds - computed;
                total += seconds;
            }
            stderr.WriteLine($"  ours step {step}{(measured ? "" : " (warm-up)")}: {seconds:F3} s, loss {g.LossSum / microBatches:F4}");
        }
        replica.Timings = null;
        var breakdown = new Dictionary<string, double>
        {
            ["data"] = timings.Data / o.Steps,
            ["views"] = timings.Views / o.Steps,
            ["forward"] = (timings.Forward + timings.EmbedForward) / o.Steps,
            ["embed_forward"] = timings.EmbedForward / o.Steps,
            ["backward"] = timings.Backward / o.Steps,
            ["gather"] = timings.Gather / o.Steps,
            ["optimizer"] = optimizerSeconds / o.Steps,
        };

        double? extract = null;
        if (o.Extract > 0)
        {
            replica.Features(data, 0, Math.Min(o.Extract, o.ExtractBatch), o.ExtractBatch); // warm-up
            var clock = Stopwatch.StartNew();
            replica.Features(data, 0, o.Extract, o.ExtractBatch);
            extract = o.Extract / clock.Elapsed.TotalSeconds;
        }
        return new Side(o.Batch * o.Steps / total, total / o.Steps, breakdown, extract, layout.ParameterCount);
    }

    private static JsonObject RunPyTorch(Settings o, string script)
    {
        var start = new ProcessStartInfo(o.Python);
        // PyTorch runs as its users run it: where this process's guard capped oneDNN (AMD with AVX-512), the cap it
        // put into the environment is not handed on (Debian's PyTorch 1.13 computes right there, docs/architecture.md).
        if (OneDnnIsaGuard.Decision.CapIsa is not null) start.Environment.Remove(OneDnnIsaGuard.IsaVariable);
        foreach (var arg in new[]
                 {
                     script, "--method", o.Method, "--backbone", o.Backbone, "--width", I(o.Width), "--batch", I(o.Batch), "--micro-batch", I(o.MicroBatch),
                     "--threads", I(o.Threads), "--steps", I(o.Steps), "--warmup", I(o.Warmup), "--extract", I(o.Extract),
                     "--extract-batch", I(o.ExtractBatch), "--seed", o.Seed.ToString(CultureInfo.InvariantCulture),
                 })
            start.ArgumentList.Add(arg);
        // The command is synchronous (our side's tensors are bound to this thread); the run awaits nothing of ours.
        var (code, output, errors) = BenchScripts.RunAsync(start, TimeSpan.FromHours(2), "give Debian's Python with torch, or --pytorch false").GetAwaiter().GetResult();
        if (code != 0 || BenchScripts.LastJsonLine(output) is not { } last)
            throw new SpecException($"bench step: {o.Python} {script} failed (exit {code}): {Tail(errors)}; --pytorch false measures ours alone");
        return JsonNode.Parse(last)!.AsObject();
    }

    /// <summary>bench/step.py: given, or where <see cref="BenchScripts.Find"/> finds it.</summary>
    public static string Script(string? given)
    {
        if (given is not null)
            return File.Exists(given) ? Path.GetFullPath(given) : throw new SpecException($"bench step: --script {given} does not exist");
        return BenchScripts.Find("step.py")
            ?? throw new SpecException("bench step: bench/step.py is not beside sslo, above its folder nor above the current one; pass --script PATH, or --pytorch false");
    }

    private static void PrintTable(TextWriter stdout, Settings o, Side ours, JsonObject? theirs, double? ratio, double? extractRatio)
    {
        stdout.WriteLine($"{o.Method}, {o.Backbone} width {o.Width}, batch {o.Batch} (micro-batches of {o.MicroBatch}), {o.Threads} thread(s), {o.Steps} steps:");
        stdout.WriteLine($"  {"",-22}{"ours",12}{"pytorch",12}");
        string Their(string key) => theirs?["breakdown_s"]?[key] is { } v ? v.GetValue<double>().ToString("F4", CultureInfo.InvariantCulture) : "-";
        stdout.WriteLine($"  {"images/s",-22}{ours.ImagesPerS,12:F1}{(theirs is null ? "-" : theirs["images_per_s"]!.GetValue<double>().ToString("F1", CultureInfo.InvariantCulture)),12}");
        stdout.WriteLine($"  {"step (s)",-22}{ours.StepS,12:F4}{(theirs is null ? "-" : theirs["step_s"]!.GetValue<double>().ToString("F4", CultureInfo.InvariantCulture)),12}");
        foreach (var part in new[] { "views", "forward", "backward", "gather", "optimizer" })
            stdout.WriteLine($"  {"  " + part + " (s)",-22}{ours.BreakdownS[part],12:F4}{Their(part),12}");
        if (ratio is { } r) stdout.WriteLine($"  ours ÷ pytorch: {r:F3}");
        if (ours.ExtractPerS is { } e)
            stdout.WriteLine($"  extraction: ours {e:F0} images/s" + (theirs?["extract"]?["images_per_s"] is { } t ? $", pytorch {t.GetValue<double>():F0} images/s, ratio {extractRatio:F3}" : ""));
    }

    private static string? LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
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

    private static string Tail(string text) => text.Length <= 2000 ? text.Trim() : "…" + text[^2000..].Trim();

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
