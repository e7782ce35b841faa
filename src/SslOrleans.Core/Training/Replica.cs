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
    private readonly List<Parameter> parameters;
    private readonly List<Tensor> buffers;
    private readonly List<Parameter> targets;

    public ModelLayout Layout { get; }
    public ISslMethod Method => method;

    public Replica(MethodOptions options)
    {
        method = MethodRegistry.Create(options);
        Layout = ModelLayout.Of(method.Online, method.Target);
        parameters = method.Online.parameters().ToList();
        buffers = ModelLayout.FloatBuffers(method.Online).Select(b => b.Tensor).ToList();
        targets = method.Target?.parameters().ToList() ?? [];
    }

    /// <summary>Sets parameters, buffers and the EMA target from flat vectors (layout order).</summary>
    public void LoadState(ReadOnlySpan<float> flatParameters, ReadOnlySpan<float> flatBuffers, ReadOnlySpan<float> flatTarget)
    {
        Check(flatParameters.Length, Layout.ParameterCount, "parameters");
        Check(flatBuffers.Length, Layout.BufferCount, "buffers");
        Check(flatTarget.Length, Layout.TargetCount, "target");
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

    /// <summary>
    /// Sums loss gradients over the micro-batches. Batch norm sees one micro-batch at a time, and every
    /// micro-batch starts from the same running statistics, so the summed buffer values divided by the number
    /// of micro-batches do not depend on how micro-batches are spread over workers.
    /// </summary>
    public GradientResult ComputeGradients(IReadOnlyList<MicroBatch> batches, ImageDataset data)
    {
        method.Online.train();
        method.Target?.train();
        var start = new float[Layout.BufferCount];
        Gather(buffers, start);
        var bufferSums = new double[Layout.BufferCount];
        var scratch = new float[Layout.BufferCount];
        var grads = new double[Layout.ParameterCount];
        var gradScratch = new float[Layout.ParameterCount];
        var stats = new ImageStats(data.Mean, data.Std);
        double lossSum = 0;
        foreach (var mb in batches)
        {
            using var scope = NewDisposeScope();
            using (no_grad()) Scatter(buffers, start);
            foreach (var p in parameters) p.grad?.zero_();
            var images = data.ToTensor(mb.Samples);
            var loss = method.Loss(images, mb.Seed, stats);
            loss.backward();
            lossSum += loss.item<float>();
            GatherGradients(gradScratch);
            // A float64 sum of a few float32 terms is exact unless their magnitudes lie ~2^28 apart, so the total
            // does not depend on how micro-batches are grouped: 1 worker and 8 workers aggregate the same bits.
            for (int i = 0; i < gradScratch.Length; i++) grads[i] += gradScratch[i];
            Gather(buffers, scratch);
            for (int i = 0; i < scratch.Length; i++) bufferSums[i] += scratch[i];
        }
        return new GradientResult(grads, bufferSums, lossSum, batches.Count);
    }

    /// <summary>Backbone features (eval mode, normalised input) of samples [start, start + count).</summary>
    public float[] Features(ImageDataset data, int start, int count, int batchSize = 500)
    {
        var backbone = method.Backbone;
        backbone.eval();
        try
        {
            float[]? result = null;
            int dim = 0;
            for (int i = 0; i < count; i += batchSize)
            {
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                int n = Math.Min(batchSize, count - i);
                var idx = Enumerable.Range(start + i, n).ToArray();
                var f = backbone.forward(Transforms.ViewTransform.Normalize(data.ToTensor(idx), data.Mean, data.Std)).contiguous();
                dim = (int)f.shape[1];
                result ??= new float[(long)count * dim];
                MemoryMarshal.Cast<byte, float>(f.bytes).CopyTo(result.AsSpan(i * dim, n * dim));
            }
            return result ?? [];
        }
        finally
        {
            backbone.train();
        }
    }

    /// <summary>The backbone's state dict (torchvision names), for export.</summary>
    public Dictionary<string, Tensor> BackboneStateDict() => method.Backbone.state_dict();

    /// <summary>L2 norm of the online backbone's parameters.</summary>
    public double BackboneParameterNorm()
    {
        using var scope = NewDisposeScope();
        double sum = 0;
        foreach (var p in method.Backbone.parameters())
            foreach (var x in MemoryMarshal.Cast<byte, float>(p.contiguous().bytes)) sum += (double)x * x;
        return Math.Sqrt(sum);
    }

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

    public void Dispose() => method.Dispose();
}
