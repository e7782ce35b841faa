using SslOrleans.Core.Data;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;
using SslOrleans.Core.Training;

namespace SslOrleans.Core.Tests.Methods;

/// <summary>Tiny models and a plain training step, as the grains run it but in one process.</summary>
internal static class MethodTestKit
{
    public static readonly string[] Names = ["byol", "simclr", "barlow", "rotnet", "mae", "beit"];

    /// <summary>Width-4 models; MAE and BEiT on a ViT with 7 × 7 patches (16 of them), BEiT with a 64-code projection tokenizer.</summary>
    public static MethodOptions Tiny(string method, long seed = 3) => method is "mae" or "beit"
        ? new(method, new BackboneOptions("vit-tiny", 4, 1, PatchSize: 7), seed,
            Tokenizer: method == "beit" ? () => new ProjectionTokenizer(64, 7) : null)
        : new(method, new BackboneOptions("resnet18", 4, 1), seed, HiddenDim: 16, ProjectionDim: 8);

    public static List<MicroBatch> Batches(int count, int size, int step = 0)
    {
        var order = EpochOrder.Permutation(60000, 1, 0);
        return Enumerable.Range(0, count).Select(j => new MicroBatch(j, order[(j * size)..(j * size + size)], DeterministicRandom.Mix(1, step, j))).ToList();
    }

    /// <summary>Summed gradients of the micro-batches split over several replicas, with the step's embeddings
    /// gathered from every replica first when the loss couples the global batch.</summary>
    public static GradientResult[] Gradients(IReadOnlyList<Replica> replicas, IReadOnlyList<IReadOnlyList<MicroBatch>> split, ImageDataset data)
    {
        BatchEmbeddings? step = null;
        if (replicas[0].NeedsBatchEmbeddings)
        {
            var values = replicas.Zip(split, (r, mbs) => r.Embed(mbs, data)).SelectMany(v => v).ToArray();
            step = new BatchEmbeddings(values, split.Sum(s => s.Count));
        }
        return replicas.Zip(split, (r, mbs) => r.ComputeGradients(mbs, data, step)).ToArray();
    }

    /// <summary>One SGD step (no momentum) from the mean gradient, as a parameter shard applies it; returns the loss.</summary>
    /// <summary>One SGD step on the micro-batches; returns the mean loss.</summary>
    public static double Step(Replica replica, IReadOnlyList<MicroBatch> batches, ImageDataset data, double lr) =>
        ApplyStep(replica, batches, data, lr).LossSum / batches.Count;

    /// <summary>One SGD step on the micro-batches; returns what the gradient pass measured.</summary>
    /// <param name="probeOnly">Update only the online probe's parameters (the method's stay as they are).</param>
    public static GradientResult ApplyStep(Replica replica, IReadOnlyList<MicroBatch> batches, ImageDataset data, double lr, bool probeOnly = false)
    {
        var g = Gradients([replica], [batches], data)[0];
        var state = replica.ReadState();
        var mean = g.Gradients.Select(x => (float)(x / batches.Count)).ToArray();
        if (probeOnly)
            foreach (var t in replica.Layout.Parameters.Where(t => !t.Probe)) Array.Clear(mean, (int)t.Offset, (int)t.Length);
        var tensors = replica.Layout.Parameters.Select(t => new SliceTensor(t.Offset, t.Length, t.Excluded)).ToList();
        FlatOptimizer.Step(state.Parameters, mean, new float[mean.Length], tensors, new OptimizerSettings(OptimizerKind.Sgd, Momentum: 0, WeightDecay: 0), lr);
        for (int i = 0; i < state.Buffers.Length; i++) state.Buffers[i] = (float)(g.BufferSums[i] / batches.Count);
        FlatOptimizer.Ema(state.Target, state.Parameters, 0.9);
        replica.LoadState(state);
        return g;
    }
}
