using System.Runtime.InteropServices;
using SslOrleans.Core.Data;
using SslOrleans.Core.Methods;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SslOrleans.Core.Training;

/// <summary>
/// One model replica: loads the flat state, computes the summed gradient of a list of micro-batches and
/// extracts features. Not thread-safe and thread-bound (dispose scopes): use it from one thread only.
/// </summary>
public sealed class Replica : IDisposable
{
    private readonly ISslMethod method;
    private readonly OnlineProbe? probe;
    private readonly List<Parameter> parameters;
    private readonly List<Tensor> buffers;
    private readonly List<Parameter> targets;

    public ModelLayout Layout { get; }
    public ISslMethod Method => method;

    /// <param name="probeClasses">Classes of the online linear probe; 0 trains no probe.</param>
    public Replica(MethodOptions options, int probeClasses = 0)
    {
        method = MethodRegistry.Create(options);
        if (probeClasses > 0) probe = new OnlineProbe(method.FeatureDim, probeClasses);
        Layout = ModelLayout.Of(method.Online, method.Target, probe);
        parameters = method.Online.parameters().Concat(probe?.parameters() ?? []).ToList();
        buffers = ModelLayout.FloatBuffers(method.Online).Concat(probe is null ? [] : ModelLayout.FloatBuffers(probe)).Select(b => b.Tensor).ToList();
        targets = method.Target?.parameters().ToList() ?? [];
    }

    /// <summary>Sets parameters, buffers and the EMA target from flat vectors (layout order).</summary>
    public void LoadState(ReadOnlySpan<float> flatParameters, ReadOnlySpan<float> flatBuffers, ReadOnlySpan<float> flatTarget)
    {
        Check(flatParameters.Length, Layout.ParameterCount, "parameters");
        Check(flatBuffers.Length, Layout.BufferCount, "buffers");
        Check(flatTarget.Length, Layout.TargetCount, "target");
        // Graphs kept by Embed saw the old parameters.
        DropKept();
        stateVersion++;
        using var _ = no_grad();
        Scatter(parameters, flatParameters);
        Scatter(buffers, flatBuffers);
        Scatter(targets, flatTarget);
    }

    public void LoadState(FlatState state) => LoadState(state.Parameters, state.Buffers, state.Target);

    public FlatState ReadState()
    {
        var state = FlatState.For(Layout);
        ReadState(state.Parameters, state.Buffers, state.Target);
        return state;
    }

    public void ReadState(Span<float> flatParameters, Span<float> flatBuffers, Span<float> flatTarget)
    {
        Gather(parameters, flatParameters);
        Gather(buffers, flatBuffers);
        Gather(targets, flatTarget);
    }

    private long dataTicks;

    /// <summary>When set, <see cref="Embed"/> and <see cref="ComputeGradients"/> add where their time went (benchmarks).</summary>
    public StepTimings? Timings { get; set; }

    private static long Now() => System.Diagnostics.Stopwatch.GetTimestamp();

    // Adds the time since `since` to a part, less the views formed meanwhile (which go to Views); returns now.
    private long Mark(long since, long viewsSince, Action<StepTimings, double> part)
    {
        long now = Now();
        if (Timings is { } t)
        {
            double views = StepTimings.Seconds(Transforms.ViewTransform.TicksOnThread - viewsSince);
            t.Views += views;
            part(t, StepTimings.Seconds(now - since) - views);
        }
        return now;
    }

    /// <summary>Seconds spent getting images (decoding, or waiting for the decoders) since the last call: how long the
    /// data path held up this replica's compute.</summary>
    public double TakeDataSeconds()
    {
        double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(0, dataTicks).TotalSeconds;
        dataTicks = 0;
        return seconds;
    }

    private Tensor Images(IImageSource data, int[] samples)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var images = data.ToTensor(samples);
        long ticks = System.Diagnostics.Stopwatch.GetTimestamp() - start;
        dataTicks += ticks;
        if (Timings is { } t) t.Data += StepTimings.Seconds(ticks);
        return images;
    }

    /// <summary>True when the loss couples the global batch: a step then needs <see cref="Embed"/> first.</summary>
    public bool NeedsBatchEmbeddings => method is IBatchLossMethod;

    /// <summary>
    /// How many images' autograd graphs <see cref="Embed"/> may keep for the gradient pass that follows
    /// (<see cref="DefaultGraphCacheImages"/> unless set; 0 keeps none). A micro-batch embedded with its graph kept is
    /// not computed again by <see cref="ComputeGradients"/>: its embeddings' gradient is back-propagated through the
    /// kept graph. The forward is the same computation with or without autograd, so the gradients, the buffers and the
    /// embeddings are the same bits either way (tests/SslOrleans.Core.Tests, ReplicaGraphCacheTests); what it costs is
    /// memory: the activations of the kept micro-batches until their gradient pass.
    /// </summary>
    public int GraphCacheImages { get; set; } = DefaultGraphCacheImages;

    /// <summary>256 images: a whole batch of 256 on one worker (0.4 GB more memory at width 16 on 28 px, 1.8 GB at
    /// width 64, measured with <c>sslo bench step</c>); beyond it micro-batches are embedded without a graph and computed
    /// again, as before.</summary>
    public const int DefaultGraphCacheImages = 256;

    // What Embed kept for the gradient pass: per micro-batch its output (with graph) and the buffers after its forward.
    private sealed record KeptGraph(MicroBatch Batch, IImageSource Data, long StateVersion, MethodOutput Output, float[] BuffersAfter) : IDisposable
    {
        public void Dispose()
        {
            Output.Value.Dispose();
            Output.Features.Dispose();
        }
    }

    private readonly Dictionary<int, KeptGraph> kept = [];
    private long stateVersion;

    private void DropKept()
    {
        foreach (var k in kept.Values) k.Dispose();
        kept.Clear();
    }

    /// <summary>
    /// First pass of a global-batch loss: the embeddings [micro-batch, V, m, d] of these micro-batches, in
    /// training mode (as the gradient pass will see them) but leaving the batch-norm statistics untouched.
    /// Up to <see cref="GraphCacheImages"/> images keep their graphs for <see cref="ComputeGradients"/>.
    /// </summary>
    public float[] Embed(IReadOnlyList<MicroBatch> batches, IImageSource data)
    {
        var m = method as IBatchLossMethod ?? throw new InvalidOperationException($"method '{method.Name}' has a per-sample loss: it needs no embeddings");
        DropKept();
        method.Online.train();
        var start = new float[Layout.BufferCount];
        Gather(buffers, start);
        var stats = data.Stats;
        var result = new List<float>();
        long keptImages = 0;
        foreach (var mb in batches)
        {
            using var scope = NewDisposeScope();
            bool keep = keptImages + mb.Samples.Length <= GraphCacheImages && !kept.ContainsKey(mb.Index);
            using var _ = keep ? enable_grad() : no_grad();
            Scatter(buffers, start);
            var images = Images(data, mb.Samples);
            long t0 = Now(), v0 = Transforms.ViewTransform.TicksOnThread;
            var output = m.Embed(images, mb.Seed, stats);
            var e = output.Value.contiguous();
            result.AddRange(MemoryMarshal.Cast<byte, float>(e.bytes));
            if (keep)
            {
                var after = new float[Layout.BufferCount];
                Gather(buffers, after);
                kept[mb.Index] = new KeptGraph(mb, data, stateVersion,
                    new MethodOutput(output.Value.DetachFromDisposeScope(), output.Features.DetachFromDisposeScope()), after);
                keptImages += mb.Samples.Length;
            }
            Mark(t0, v0, (t, s) => t.EmbedForward += s);
        }
        using (no_grad()) Scatter(buffers, start);
        return result.ToArray();
    }

    // The graph Embed kept for this micro-batch, if it was kept for these very samples, seed and state.
    private KeptGraph? Kept(MicroBatch mb, IImageSource data) =>
        kept.TryGetValue(mb.Index, out var k) && k.StateVersion == stateVersion && ReferenceEquals(k.Data, data)
        && k.Batch.Seed == mb.Seed && k.Batch.Samples.AsSpan().SequenceEqual(mb.Samples) ? k : null;

    /// <summary>
    /// Sums loss gradients over the micro-batches. Batch norm sees one micro-batch at a time, and every
    /// micro-batch starts from the same running statistics, so the summed buffer values divided by the number
    /// of micro-batches do not depend on how micro-batches are spread over workers. A global-batch loss needs
    /// the embeddings of the whole step (<paramref name="batch"/>): its gradient with respect to them is
    /// computed once, and each micro-batch back-propagates its own rows (the gradient-cache trick), which
    /// gives the gradient of the global loss exactly, however the batch is split.
    /// </summary>
    public GradientResult ComputeGradients(IReadOnlyList<MicroBatch> batches, IImageSource data, BatchEmbeddings? batch = null)
    {
        method.Online.train();
        method.Target?.train();
        probe?.train();
        var start = new float[Layout.BufferCount];
        Gather(buffers, start);
        var bufferSums = new double[Layout.BufferCount];
        var scratch = new float[Layout.BufferCount];
        var grads = new double[Layout.ParameterCount];
        var gradScratch = new float[Layout.ParameterCount];
        var stats = data.Stats;
        double lossSum = 0, probeLossSum = 0;
        long probeCorrect = 0;
        using var stepScope = NewDisposeScope();
        long lossStart = Now();
        var (batchLoss, embeddingGrad) = method is IBatchLossMethod bm
            ? GlobalLossGradient(bm, batch ?? throw new ArgumentException($"method '{method.Name}' couples the global batch: pass the step's embeddings", nameof(batch)), batches)
            : (0.0, null);
        Mark(lossStart, Transforms.ViewTransform.TicksOnThread, (t, s) => t.Forward += s);
        foreach (var mb in batches)
        {
            using var scope = NewDisposeScope();
            using (no_grad()) Scatter(buffers, start);
            foreach (var p in parameters) p.grad?.zero_();
            var images = embeddingGrad is not null && Kept(mb, data) is not null ? null : Images(data, mb.Samples);
            MethodOutput output;
            float[]? keptBuffers = null;
            long t0 = Now(), v0 = Transforms.ViewTransform.TicksOnThread;
            if (embeddingGrad is null)
            {
                output = ((ISampleLossMethod)method).Loss(images!, mb.Seed, stats);
                t0 = Mark(t0, v0, (t, s) => t.Forward += s);
                output.Value.backward();
                lossSum += output.Value.item<float>();
            }
            else if (Kept(mb, data) is { } k)
            {
                // Embed kept this micro-batch's graph: back-propagate through it; its buffers are those its forward left.
                output = k.Output;
                keptBuffers = k.BuffersAfter;
                t0 = Mark(t0, v0, (t, s) => t.Forward += s);
                output.Value.backward([embeddingGrad.select(1, mb.Index)]);
                lossSum += batchLoss;
            }
            else
            {
                output = ((IBatchLossMethod)method).Embed(images!, mb.Seed, stats);
                t0 = Mark(t0, v0, (t, s) => t.Forward += s);
                output.Value.backward([embeddingGrad.select(1, mb.Index)]);
                lossSum += batchLoss;
            }
            t0 = Mark(t0, Transforms.ViewTransform.TicksOnThread, (t, s) => t.Backward += s);
            if (probe is not null)
            {
                var (loss, correct) = ProbeStep(output.Features, data.Labels, mb.Samples);
                probeLossSum += loss;
                probeCorrect += correct;
            }
            GatherGradients(gradScratch);
            // A float64 sum of a few float32 terms is exact unless their magnitudes lie ~2^28 apart, so the total
            // does not depend on how micro-batches are grouped: 1 worker and 8 workers aggregate the same bits.
            for (int i = 0; i < gradScratch.Length; i++) grads[i] += gradScratch[i];
            if (keptBuffers is null) Gather(buffers, scratch);
            var after = keptBuffers ?? scratch;
            for (int i = 0; i < after.Length; i++) bufferSums[i] += after[i];
            Mark(t0, Transforms.ViewTransform.TicksOnThread, (t, s) => t.Gather += s);
        }
        // The step's start values back: the same work redone in this step (for a lost worker) gives the same sums.
        using (no_grad()) Scatter(buffers, start);
        // A kept graph serves one gradient pass; what is left (micro-batches another worker computed) goes now.
        DropKept();
        return new GradientResult(grads, bufferSums, lossSum, batches.Count, probeLossSum, probeCorrect);
    }

    /// <summary>
    /// The global loss and its gradient with respect to every embedding, as [V, micro-batches, m, d]. The
    /// shards divide the summed gradient by the number of micro-batches (right for per-sample means), so the
    /// gradient is multiplied by that number here: the applied gradient is then the global loss's own.
    /// </summary>
    private static (double Loss, Tensor Gradient) GlobalLossGradient(IBatchLossMethod m, BatchEmbeddings batch, IReadOnlyList<MicroBatch> mine)
    {
        int n = batch.MicroBatches;
        long v = m.Views, d = m.EmbeddingDim;
        long rows = batch.Values.Length / (n * v * d);
        if (rows * n * v * d != batch.Values.Length)
            throw new ArgumentException($"step embeddings: {batch.Values.Length} values are not {n} micro-batches × {v} views × m × {d}");
        foreach (var mb in mine)
        {
            if (mb.Index < 0 || mb.Index >= n || mb.Samples.Length != rows)
                throw new ArgumentException($"micro-batch {mb.Index} of {mb.Samples.Length} samples does not match step embeddings of {n} micro-batches of {rows}");
        }
        var all = tensor(batch.Values, [n, v, rows, d]).permute(1, 0, 2, 3).reshape(v, n * rows, d).requires_grad_(true);
        var loss = m.BatchLoss(all);
        loss.backward();
        return (loss.item<float>(), all.grad!.Times(n).reshape(v, n, rows, d));
    }

    /// <summary>Cross-entropy step of the online probe on detached features; returns its loss and correct count.</summary>
    private (double Loss, long Correct) ProbeStep(Tensor features, byte[] labels, int[] samples)
    {
        var y = tensor(samples.Select(i => (long)labels[i]).ToArray());
        var logits = probe!.forward(features.detach());
        var loss = nn.functional.cross_entropy(logits, y);
        loss.backward();
        return (loss.item<float>(), logits.argmax(1).eq(y).sum().item<long>());
    }

    /// <summary>Correct predictions of the online probe on samples [start, start + count) (eval mode, normalised input).</summary>
    public long ProbeCorrect(IImageSource data, int start, int count)
    {
        if (probe is null) throw new InvalidOperationException("this replica trains no online probe");
        var features = Features(data, start, count);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var f = tensor(features, [count, method.FeatureDim]);
        var y = tensor(data.Labels.AsSpan(start, count).ToArray().Select(b => (long)b).ToArray());
        probe.eval();
        try
        {
            return probe.forward(f).argmax(1).eq(y).sum().item<long>();
        }
        finally
        {
            probe.train();
        }
    }

    /// <summary>Backbone features (eval mode, normalised input) of samples [start, start + count).</summary>
    public float[] Features(IImageSource data, int start, int count, int batchSize = 500) =>
        Evaluation.BackboneEvaluation.Features(method.Backbone, data, count, batchSize, first: start);

    /// <summary>The backbone's state dict (torchvision names), for export.</summary>
    public Dictionary<string, Tensor> BackboneStateDict() => method.Backbone.state_dict();

    /// <summary>The online probe's state dict ("weight", "bias"), or null when the replica trains none.</summary>
    public Dictionary<string, Tensor>? ProbeStateDict() => probe?.state_dict();

    /// <summary>L2 norm of the online backbone's parameters.</summary>
    public double BackboneParameterNorm() => Evaluation.BackboneEvaluation.ParameterNorm(method.Backbone);

    private void GatherGradients(Span<float> flat)
    {
        int offset = 0;
        foreach (var p in parameters)
        {
            int n = (int)p.numel();
            var g = p.grad;
            if (g is null) flat.Slice(offset, n).Clear();
            else MemoryMarshal.Cast<byte, float>(g.contiguous().bytes).CopyTo(flat.Slice(offset, n));
            offset += n;
        }
    }

    private static void Scatter<T>(IEnumerable<T> tensors, ReadOnlySpan<float> flat) where T : Tensor
    {
        int offset = 0;
        foreach (var t in tensors)
        {
            int n = (int)t.numel();
            flat.Slice(offset, n).CopyTo(MemoryMarshal.Cast<byte, float>(t.bytes));
            offset += n;
        }
    }

    private static void Gather<T>(IEnumerable<T> tensors, Span<float> flat) where T : Tensor
    {
        int offset = 0;
        foreach (var t in tensors)
        {
            int n = (int)t.numel();
            MemoryMarshal.Cast<byte, float>(t.bytes).CopyTo(flat.Slice(offset, n));
            offset += n;
        }
    }

    private static void Check(int actual, long expected, string what)
    {
        if (actual != expected) throw new ArgumentException($"{what}: expected {expected} values, got {actual}");
    }

    public void Dispose()
    {
        DropKept();
        method.Dispose();
    }
}
