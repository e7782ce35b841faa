using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Cli.Specs;
using SslOrleans.Client;
using SslOrleans.Grains.Diagnostics;
using SslOrleans.Grains.Runs;
using SslOrleans.Core.Methods;
using SslOrleans.Hosting;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo bench coordination: the per-step cost of coordinating many workers on many silos. S silos in this process form
/// one Orleans cluster (loopback, Localhost clustering, each silo with the training configuration and its device slots);
/// a real run goes through the real RunGrain, as `sslo pretrain --cluster` would submit it, once with the baseline's few
/// workers and once with many, with a model so small that the workers' compute is short. Per step, coordination = the
/// step's wall time − the slowest worker's compute; reported as median and p90 per run, with the coordinator's phases
/// (whatever phases it records in sslo.step.phase.duration) and the grain calls per step by grain type. JSON last.
/// </summary>
public static class BenchCoordinationCommand
{
    public static Command Create()
    {
        var silos = Flag.PositiveInteger("--silos", "Silos in this process, one cluster (at most 64)", 16);
        var workers = Flag.PositiveInteger("--workers", "Workers of the measured run, spread over the silos", 32);
        var baseline = Flag.PositiveInteger("--baseline-workers", "Workers of the run it is compared with", 2);
        var steps = Flag.PositiveInteger("--steps", "Steps of each run", 40);
        var warmup = Flag.NonNegativeInteger("--warmup", "First steps of each run left out of the statistics (activation, JIT, first allocations)", 5);
        var width = Flag.PositiveInteger("--width", "ResNet-18 width of the tiny model", 1);
        var microBatch = Flag.PositiveInteger("--micro-batch", "Samples per micro-batch; every worker computes one micro-batch a step (batch = workers × micro-batch)", 2);
        var hidden = Flag.PositiveInteger("--hidden-dim", "Hidden width of the method's heads", 16);
        var projection = Flag.PositiveInteger("--projection-dim", "Embedding width of the method's heads", 16);
        var method = Flag.OneOf("--method", "The method of both runs", "byol", [.. MethodRegistry.Names]);
        var parameterShards = Flag.PositiveInteger("--parameter-shards", "Parameter shards (default: one per silo)");
        var dataShards = Flag.PositiveInteger("--data-shards", "Data shards (default: one per silo)");
        var data = Flag.Text("--data", "DIR", "Fashion-MNIST's idx files (default: the Debian package's folder)");
        var command = new Command("coordination",
            "Per-step coordination time (step − slowest worker's compute) of real runs of a tiny model on many silos in one process, " +
            "many workers against few, with the coordinator's phases and the grain calls per step; JSON as the last stdout line")
        {
            silos, workers, baseline, steps, warmup, width, microBatch, hidden, projection, method, parameterShards, dataShards, data,
        };
        command.SetAction((parsed, _) =>
        {
            var options = new Options(parsed.GetValue(silos), parsed.GetValue(workers), parsed.GetValue(baseline), parsed.GetValue(steps),
                parsed.GetValue(warmup), parsed.GetValue(width), parsed.GetValue(microBatch), parsed.GetValue(hidden), parsed.GetValue(projection),
                parsed.GetValue(method)!,
                parsed.GetValue(parameterShards) ?? parsed.GetValue(silos), parsed.GetValue(dataShards) ?? parsed.GetValue(silos), parsed.GetValue(data));
            return RunAsync(options, parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    private sealed record Options(int Silos, int Workers, int BaselineWorkers, int Steps, int Warmup, int Width, int MicroBatch, int HiddenDim,
        int ProjectionDim, string Method,
        int ParameterShards, int DataShards, string? Data);

    private static async Task<int> RunAsync(Options o, TextWriter stdout, TextWriter stderr)
    {
        if (o.Silos > 64) throw new SpecException($"bench coordination: --silos wants at most 64 silos in one process, got {o.Silos}");
        if (o.Warmup >= o.Steps) throw new SpecException($"bench coordination: --warmup wants fewer than --steps ({o.Steps}) steps, got {o.Warmup}");
        int slotsPerSilo = (Math.Max(o.Workers, o.BaselineWorkers) + o.Silos - 1) / o.Silos;
        string outRoot = Path.Combine(Path.GetTempPath(), "sslo-bench-coordination-" + Guid.NewGuid().ToString("N")[..8]);
        // Every spec is checked, and the data loaded, before any silo starts: bad input is named first.
        var specs = new[] { o.BaselineWorkers, o.Workers }.Select(w => Spec(o, w, outRoot)).ToArray();
        long parameters = 0;
        foreach (var spec in specs)
        {
            RunSpecValidator.ThrowIfInvalid(spec);
            var train = Grains.Data.DatasetCatalog.Train(spec, Grains.Data.DatasetChecks.Printer(stderr));
            if (parameters == 0)
            {
                using var model = MethodRegistry.Create(Grains.RunSpecOptions.Method(spec, train));
                parameters = model.Online.parameters().Sum(p => p.numel());
            }
        }

        stderr.WriteLine($"sslo bench coordination: {o.Silos} silos in this process ({slotsPerSilo} slots of 1 thread each), {o.Method} ResNet-18 " +
                         $"width {o.Width} with heads {o.HiddenDim}/{o.ProjectionDim} ({parameters:N0} parameters), micro-batch {o.MicroBatch} per worker, {o.ParameterShards} parameter and {o.DataShards} data shards, " +
                         $"{o.Steps} steps ({o.Warmup} of warm-up) with {o.BaselineWorkers} and with {o.Workers} workers");
        using var phases = new PhaseListener();
        var calls = new CallCounter();
        var started = Stopwatch.StartNew();
        var runs = new List<RunMeasurement>();
        try
        {
            await using (var cluster = await InProcessSilos.StartAsync(o.Silos, $"cpu*{slotsPerSilo}@1",
                             (_, silo) => silo.AddIncomingGrainCallFilter(calls.OnIncomingAsync), Microsoft.Extensions.Logging.LogLevel.Error))
            {
                stderr.WriteLine($"  {cluster.Count} silos up in {started.Elapsed.TotalSeconds:F1} s");
                var client = new TrainingClient(cluster.Client);
                foreach (var spec in specs)
                    runs.Add(await MeasureAsync(client, spec, o, phases, calls, stderr));
            }
        }
        finally
        {
            try { Directory.Delete(outRoot, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        var (few, many) = (runs[0], runs[1]);
        var result = new CoordinationResult(o.Silos, o.Workers, o.BaselineWorkers, o.Method, o.Width, o.HiddenDim, o.ProjectionDim, parameters,
            o.MicroBatch, o.ParameterShards, o.DataShards,
            o.Steps, o.Warmup, Environment.ProcessorCount, runs,
            many.CoordinationMsMedian / few.CoordinationMsMedian, many.CoordinationMsP90 / few.CoordinationMsP90);
        stderr.WriteLine($"  coordination per step: {few.CoordinationMsMedian:F1} ms (p90 {few.CoordinationMsP90:F1}) with {few.Workers} workers, " +
                         $"{many.CoordinationMsMedian:F1} ms (p90 {many.CoordinationMsP90:F1}) with {many.Workers}: " +
                         $"{result.CoordinationRatio:F2}× (p90 {result.CoordinationP90Ratio:F2}×)");
        stdout.WriteLine(JsonSerializer.Serialize(result, JsonLines.Options));
        return 0;
    }

    private static RunSpec Spec(Options o, int workers, string outRoot)
    {
        string id = $"bench-coordination-{workers}w-" + Guid.NewGuid().ToString("N")[..6];
        return RunPlan.WithMethodDefaults(new RunSpec
        {
            RunId = id, Method = o.Method, Dataset = "fashion-mnist", Data = o.Data is null ? null : Path.GetFullPath(o.Data),
            Backbone = "resnet18", Width = o.Width, Workers = workers, Batch = workers * o.MicroBatch, MicroBatch = o.MicroBatch,
            Steps = o.Steps, Evaluate = false, ThreadsPerWorker = 1, ParameterShards = o.ParameterShards, DataShards = o.DataShards,
            HiddenDim = o.HiddenDim, ProjectionDim = o.ProjectionDim, Out = Path.Combine(outRoot, id), Seed = 0,
        });
    }

    private static async Task<RunMeasurement> MeasureAsync(TrainingClient client, RunSpec spec, Options o, PhaseListener phases, CallCounter calls,
        TextWriter stderr)
    {
        var clock = Stopwatch.StartNew();
        await client.SubmitAsync(spec);
        // The grain calls of the measured steps: counted from the first update past the warm-up to the last step's.
        CallCounter.Snapshot? from = null, to = null;
        long fromStep = 0, toStep = 0;
        RunStatus? final = null;
        await foreach (var update in client.WatchAsync(spec.RunId))
        {
            if (update.Step is { } step)
            {
                if (from is null && step.Step >= o.Warmup) (from, fromStep) = (calls.Take(), step.Step);
                if (step.Step == o.Steps && to is null) (to, toStep) = (calls.Take(), step.Step);
            }
            if (update.Status.IsFinished) final = update.Status;
        }
        if (final is null || final.State != RunState.Completed)
            throw new InvalidOperationException($"bench coordination: run {spec.RunId} ended {final?.State.ToString() ?? "without a status"}: {final?.Error}");
        var progress = (await client.GetStepsAsync(spec.RunId, o.Warmup)).Where(p => p.Step > o.Warmup).OrderBy(p => p.Step).ToList();
        if (progress.Count != o.Steps - o.Warmup)
            throw new InvalidOperationException($"bench coordination: run {spec.RunId} reported {progress.Count} of its {o.Steps - o.Warmup} measured steps");

        var coordination = progress.Select(p => (p.StepSeconds - p.ComputeSeconds) * 1000).ToList();
        var phaseMs = phases.Of(spec.RunId).ToDictionary(kv => kv.Key, kv => Median(kv.Value.Skip(o.Warmup).Select(s => s * 1000).ToList()));
        var perType = new SortedDictionary<string, CallStats>(StringComparer.Ordinal);
        GrainLoad? hottest = null;
        if (from is not null && to is not null && toStep > fromStep)
        {
            double n = toStep - fromStep;
            foreach (var (type, (count, seconds)) in to.ByType)
            {
                var before = from.ByType.GetValueOrDefault(type);
                if (count - before.Count > 0)
                    perType[type] = new CallStats((count - before.Count) / n, (seconds - before.Seconds) * 1000 / n);
            }
            var grains = to.ByGrain.Select(kv => (Grain: kv.Key, Calls: kv.Value - from.ByGrain.GetValueOrDefault(kv.Key))).Where(g => g.Calls > 0).ToList();
            if (grains.Count > 0)
            {
                var top = grains.MaxBy(g => g.Calls);
                hottest = new GrainLoad(top.Grain, top.Calls / n, top.Calls / (double)grains.Sum(g => g.Calls), grains.Count);
            }
        }
        var measured = new RunMeasurement(spec.Workers, spec.Batch, final.Result?.Silos ?? 0, progress.Count,
            Median(progress.Select(p => p.StepSeconds * 1000).ToList()), Median(progress.Select(p => p.ComputeSeconds * 1000).ToList()),
            Median(coordination), Percentile(coordination, 0.9), phaseMs, perType, hottest, clock.Elapsed.TotalSeconds);
        stderr.WriteLine($"  {spec.Workers} workers on {measured.WorkerSilos} silos: step {measured.StepMsMedian:F1} ms, slowest compute {measured.ComputeMsMedian:F1} ms, " +
                         $"coordination {measured.CoordinationMsMedian:F1} ms (p90 {measured.CoordinationMsP90:F1}); phases " +
                         string.Join(", ", phaseMs.Select(kv => $"{kv.Key} {kv.Value:F1}")) + " ms" +
                         (hottest is null ? "" : $"; busiest grain {hottest.Grain} {hottest.CallsPerStep:F1} calls/step ({hottest.Share:P0} of {hottest.Grains} grains' calls)"));
        return measured;
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    /// <summary>Linear interpolation between closest ranks (numpy's default); NaN for no values.</summary>
    private static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        double rank = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /// <summary>The coordinator's phase times (sslo.step.phase.duration) of every run in this process, by run and phase, in
    /// the order recorded: one value per phase per step. Phases are whatever the coordinator records.</summary>
    private sealed class PhaseListener : IDisposable
    {
        private const string Instrument = "sslo.step.phase.duration";
        private readonly MeterListener listener = new();
        private readonly ConcurrentDictionary<(string Run, string Phase), List<double>> values = new();

        public PhaseListener()
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == TrainingMetrics.MeterName && instrument.Name == Instrument) l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
            {
                string? run = null, phase = null;
                foreach (var tag in tags)
                {
                    if (tag.Key == "sslo.run") run = tag.Value as string;
                    else if (tag.Key == "sslo.phase") phase = tag.Value as string;
                }
                if (run is null || phase is null) return;
                var list = values.GetOrAdd((run, phase), _ => []);
                lock (list) list.Add(value);
            });
            listener.Start();
        }

        public SortedDictionary<string, List<double>> Of(string run) =>
            new(values.Where(kv => kv.Key.Run == run).ToDictionary(kv => kv.Key.Phase, kv => { lock (kv.Value) return kv.Value.ToList(); }), StringComparer.Ordinal);

        public void Dispose() => listener.Dispose();
    }

    /// <summary>Every silo's incoming grain calls (an Orleans call filter): count and wall time by grain type, count by grain.
    /// Tensor chunks that take the data plane between silos are not grain calls and are not counted.</summary>
    private sealed class CallCounter
    {
        private readonly ConcurrentDictionary<string, StrongBox> byType = new();
        private readonly ConcurrentDictionary<string, StrongBox> byGrain = new();

        public async Task OnIncomingAsync(IIncomingGrainCallContext context)
        {
            long start = Stopwatch.GetTimestamp();
            try { await context.Invoke(); }
            finally
            {
                long ticks = Stopwatch.GetTimestamp() - start;
                var type = byType.GetOrAdd(context.TargetId.Type.ToString() ?? "?", _ => new StrongBox());
                Interlocked.Increment(ref type.Count);
                Interlocked.Add(ref type.Ticks, ticks);
                Interlocked.Increment(ref byGrain.GetOrAdd(context.TargetId.ToString(), _ => new StrongBox()).Count);
            }
        }

        public Snapshot Take() => new(
            byType.ToDictionary(kv => kv.Key, kv => (Interlocked.Read(ref kv.Value.Count), Interlocked.Read(ref kv.Value.Ticks) / (double)Stopwatch.Frequency)),
            byGrain.ToDictionary(kv => kv.Key, kv => Interlocked.Read(ref kv.Value.Count)));

        public sealed record Snapshot(Dictionary<string, (long Count, double Seconds)> ByType, Dictionary<string, long> ByGrain);

        private sealed class StrongBox
        {
            public long Count;
            public long Ticks;
        }
    }

    /// <summary>Incoming grain calls of one grain type per measured step, and the wall time spent inside them (overlapping).</summary>
    public sealed record CallStats(double CallsPerStep, double MsPerStep);

    /// <summary>The grain with the most incoming calls over the measured steps, and its share of all grains' calls.</summary>
    public sealed record GrainLoad(string Grain, double CallsPerStep, double Share, int Grains);

    public sealed record RunMeasurement(int Workers, int Batch, int WorkerSilos, int StepsMeasured, double StepMsMedian, double ComputeMsMedian,
        double CoordinationMsMedian, double CoordinationMsP90, IReadOnlyDictionary<string, double> PhasesMsMedian,
        IReadOnlyDictionary<string, CallStats> CallsByGrainType, GrainLoad? BusiestGrain, double WallSeconds);

    public sealed record CoordinationResult(int Silos, int Workers, int BaselineWorkers, string Method, int Width, int HiddenDim, int ProjectionDim,
        long Parameters, int MicroBatch, int ParameterShards,
        int DataShards, int Steps, int Warmup, int Cores, IReadOnlyList<RunMeasurement> Runs, double CoordinationRatio, double CoordinationP90Ratio);
}
