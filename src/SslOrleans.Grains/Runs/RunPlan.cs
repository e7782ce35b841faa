using SslOrleans.Abstractions.Data;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Training;

namespace SslOrleans.Grains.Runs;

/// <summary>The pure decisions of a run: shard map, micro-batch cuts, their assignment and the schedules.</summary>
public static class RunPlan
{
    public static ShardMap Shards(RunSpec spec, ModelLayoutInfo layout)
    {
        int shards = Math.Min(spec.ParameterShards, layout.Parameters.Length);
        var parts = ModelLayout.Partition(layout.Parameters.Select(p => p.Length).ToList(), shards);
        var bufferParts = layout.Buffers.Length >= shards
            ? ModelLayout.Partition(layout.Buffers.Select(b => b.Length).ToList(), shards)
            : Enumerable.Range(0, shards).Select(k => k == 0 ? (0, layout.Buffers.Length) : (layout.Buffers.Length, layout.Buffers.Length)).ToList();
        var ranges = new ShardRange[shards];
        for (int k = 0; k < shards; k++)
        {
            var (first, end) = parts[k];
            var ps = layout.Parameters[first..end];
            var (bf, be) = bufferParts[k];
            var bs = layout.Buffers[bf..be];
            long pOff = ps[0].Offset, pLen = ps.Sum(p => p.Length);
            long tLen = ps.Where(p => p.HasTarget).Sum(p => p.Length);
            long bOff = bs.Length > 0 ? bs[0].Offset : layout.BufferCount, bLen = bs.Sum(b => b.Length);
            ranges[k] = new ShardRange(k, pOff, pLen, tLen, bOff, bLen);
        }
        return new ShardMap(spec.RunId, ranges, spec.ChunkBytes);
    }

    public static TensorInfo[] TensorsOf(ModelLayoutInfo layout, ShardRange range) =>
        layout.Parameters.Where(p => p.Offset >= range.ParamOffset && p.Offset < range.ParamOffset + range.ParamLength).ToArray();

    /// <summary>Cuts the step's samples into micro-batches of m, each with a seed fixed by (seed, step, index).</summary>
    public static MicroBatchWork[] MicroBatches(RunSpec spec, long step, int[] samples)
    {
        int n = samples.Length / spec.MicroBatch;
        return Enumerable.Range(0, n).Select(j => new MicroBatchWork(j,
            samples.AsSpan(j * spec.MicroBatch, spec.MicroBatch).ToArray(),
            DeterministicRandom.Mix(spec.Seed, step, j))).ToArray();
    }

    /// <summary>Worker w of W gets the contiguous block [w·n/W, (w+1)·n/W) of the n micro-batches.</summary>
    public static MicroBatchWork[][] Assign(MicroBatchWork[] microBatches, int workers) =>
        Ranges(microBatches.Length, workers).Select(r => Slice(microBatches, r)).ToArray();

    /// <summary>The contiguous ranges [w·n/W, (w+1)·n/W) of n micro-batches over W workers (W ≤ n: none is empty).</summary>
    public static MicroBatchRange[] Ranges(int microBatches, int workers)
    {
        if (workers < 1 || workers > microBatches)
            throw new ArgumentOutOfRangeException(nameof(workers), workers, $"between 1 and the step's {microBatches} micro-batches");
        return Enumerable.Range(0, workers).Select(w => new MicroBatchRange(w * microBatches / workers, (w + 1) * microBatches / workers - w * microBatches / workers)).ToArray();
    }

    public static MicroBatchWork[] Slice(MicroBatchWork[] microBatches, MicroBatchRange range) => microBatches[range.First..range.End];

    public static long WarmupSteps(RunSpec spec, long plannedSteps) => (long)Math.Ceiling(spec.WarmupFraction * plannedSteps);

    public static double LearningRate(RunSpec spec, long step, long plannedSteps) =>
        Schedules.WarmupCosine(step, plannedSteps, WarmupSteps(spec, plannedSteps), Required(spec.Lr, "lr") * spec.Batch / 256.0);

    /// <summary>The online probe follows the run's warm-up and cosine shape at its own peak (not scaled with the batch).</summary>
    public static double ProbeLearningRate(RunSpec spec, long step, long plannedSteps) =>
        Schedules.WarmupCosine(step, plannedSteps, WarmupSteps(spec, plannedSteps), spec.ProbeLr);

    /// <summary>Fills what the spec leaves to the method (backbone, optimizer, learning rate, weight decay, Nesterov, AdamW's β2) from its recipe.</summary>
    public static RunSpec WithMethodDefaults(RunSpec spec)
    {
        var recipe = MethodRegistry.Recipe(spec.Method);
        int imageSize = spec.ImageSize > 0 ? spec.ImageSize : DatasetShapes.ImageSize(spec.Dataset);
        return spec with
        {
            ImageSize = imageSize,
            Channels = spec.Channels > 0 ? spec.Channels : DatasetShapes.Channels(spec.Dataset),
            Stem = spec.Stem ?? DatasetShapes.Stem(imageSize),
            Backbone = spec.Backbone ?? recipe.Backbone,
            AdamBeta2 = spec.AdamBeta2 ?? recipe.Beta2,
            Optimizer = spec.Optimizer ?? recipe.Optimizer,
            Lr = spec.Lr ?? recipe.Lr,
            WeightDecay = spec.WeightDecay ?? recipe.WeightDecay,
            Nesterov = spec.Nesterov ?? recipe.Nesterov,
        };
    }

    /// <summary>The optimizer of the method's parameters, from a spec whose defaults are filled.</summary>
    public static OptimizerSettings Optimizer(RunSpec spec) => new(
        OptimizerSettings.ParseKind(Required(spec.Optimizer, "optimizer")), spec.Momentum, Required(spec.WeightDecay, "weight_decay"), spec.LarsEta,
        Nesterov: spec.Nesterov ?? false, Beta1: spec.AdamBeta1, Beta2: Required(spec.AdamBeta2, "adam_beta2"));

    /// <summary>The online probe's optimizer: SGD with momentum 0.9 and no decay, as solo-learn trains its online classifier.</summary>
    public static OptimizerSettings ProbeOptimizer { get; } = new(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 0);

    private static T Required<T>(T? value, string key) where T : struct =>
        value ?? throw new InvalidOperationException($"{key} is unset: the spec's method defaults were not filled");

    private static string Required(string? value, string key) =>
        value ?? throw new InvalidOperationException($"{key} is unset: the spec's method defaults were not filled");

    public static double Tau(RunSpec spec, long step, long plannedSteps) => Schedules.ByolTau(step, plannedSteps, spec.TauBase);

    /// <summary>A resumed run keeps the math of its checkpoint and takes only operational settings from the new invocation.</summary>
    public static RunSpec Resumed(RunSpec saved, RunSpec now) => saved with
    {
        Workers = now.Workers,
        ThreadsPerWorker = now.ThreadsPerWorker,
        Out = now.Out,
        Data = now.Data,
        Evaluate = now.Evaluate,
        StopAfter = now.StopAfter,
        CheckpointEvery = now.CheckpointEvery,
        CheckpointMinutes = now.CheckpointMinutes,
        KeepLast = now.KeepLast,
        MinWorkers = now.MinWorkers,
        MaxWorkers = now.MaxWorkers,
        StepDeadlineSeconds = now.StepDeadlineSeconds,
        MirrorShards = now.MirrorShards,
        ChunkBytes = now.ChunkBytes,
        Resume = true,
    };
}
