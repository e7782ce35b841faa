using SslOrleans.Core.Data;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;
using SslOrleans.Core.Training;

namespace SslOrleans.Core.Tests.Training;

/// <summary>
/// The graphs <see cref="Replica.Embed"/> keeps for the gradient pass of a global-batch loss (SimCLR, Barlow Twins)
/// are a fast path only: embeddings, gradients, buffer sums and losses are the same bits as when every micro-batch
/// is computed again, however many graphs are kept, however the micro-batches are split over replicas, and a state
/// loaded in between is never back-propagated through an old graph.
/// </summary>
public sealed class ReplicaGraphCacheTests
{
    private static MethodOptions Tiny(string method) => new(method, new BackboneOptions("resnet18", 4, 1), Seed: 5, HiddenDim: 16, ProjectionDim: 8);

    private static List<MicroBatch> Batches(int step)
    {
        var order = EpochOrder.Permutation(60000, 2, step);
        return Enumerable.Range(0, 4).Select(j => new MicroBatch(j, order[(j * 8)..(j * 8 + 8)], (ulong)(1000 * step + 7 * j + 1))).ToList();
    }

    private static GradientResult Step(Replica r, List<MicroBatch> batches, IImageSource data) =>
        r.ComputeGradients(batches, data, new BatchEmbeddings(r.Embed(batches, data), batches.Count));

    // One SGD-like update so that the second step runs on new parameters (LoadState between steps).
    private static void Apply(Replica r, GradientResult g)
    {
        var s = r.ReadState();
        for (int i = 0; i < s.Parameters.Length; i++) s.Parameters[i] -= (float)(0.05 * g.Gradients[i] / g.MicroBatches);
        for (int i = 0; i < s.Buffers.Length; i++) s.Buffers[i] = (float)(g.BufferSums[i] / g.MicroBatches);
        r.LoadState(s);
    }

    [Theory]
    [InlineData("simclr")]
    [InlineData("barlow")]
    public void Kept_graphs_give_the_bits_of_recomputing_every_micro_batch(string method)
    {
        var data = FashionMnist.LoadTrainCached(null);
        using var recompute = new Replica(Tiny(method)) { GraphCacheImages = 0 };
        using var keepAll = new Replica(Tiny(method));
        using var keepOne = new Replica(Tiny(method)) { GraphCacheImages = 8 };
        Assert.Equal(Replica.DefaultGraphCacheImages, keepAll.GraphCacheImages);
        for (int step = 0; step < 2; step++)
        {
            var batches = Batches(step);
            var e = recompute.Embed(batches, data);
            Assert.Equal(e, keepAll.Embed(batches, data));
            Assert.Equal(e, keepOne.Embed(batches, data));
            var g = recompute.ComputeGradients(batches, data, new BatchEmbeddings(e, 4));
            foreach (var fast in new[] { keepAll, keepOne })
            {
                var f = fast.ComputeGradients(batches, data, new BatchEmbeddings(e, 4));
                Assert.Equal(g.Gradients, f.Gradients);
                Assert.Equal(g.BufferSums, f.BufferSums);
                Assert.Equal(g.LossSum, f.LossSum);
                Apply(fast, f);
            }
            Assert.Contains(g.Gradients, x => x != 0);
            Apply(recompute, g);
        }
    }

    [Fact]
    public void Split_replicas_with_kept_graphs_add_up_to_the_whole_recomputed()
    {
        var data = FashionMnist.LoadTrainCached(null);
        using var whole = new Replica(Tiny("simclr")) { GraphCacheImages = 0 };
        using var left = new Replica(Tiny("simclr"));
        using var right = new Replica(Tiny("simclr"));
        var batches = Batches(0);
        var step = new BatchEmbeddings([.. left.Embed(batches[..2], data), .. right.Embed(batches[2..], data)], 4);
        Assert.Equal(whole.Embed(batches, data), step.Values);
        var all = whole.ComputeGradients(batches, data, step);
        var a = left.ComputeGradients(batches[..2], data, step);
        var b = right.ComputeGradients(batches[2..], data, step);
        Assert.Equal(all.Gradients, a.Gradients.Zip(b.Gradients, (x, y) => x + y).ToArray());
        Assert.Equal(all.BufferSums, a.BufferSums.Zip(b.BufferSums, (x, y) => x + y).ToArray());
    }

    [Fact]
    public void A_state_loaded_after_embed_or_other_samples_are_computed_afresh()
    {
        var data = FashionMnist.LoadTrainCached(null);
        using var fast = new Replica(Tiny("simclr"));
        using var reference = new Replica(Tiny("simclr")) { GraphCacheImages = 0 };
        var batches = Batches(0);
        var e = fast.Embed(batches, data);
        // New parameters after the embedding pass: the kept graphs saw the old ones and must not be used.
        var s = fast.ReadState();
        for (int i = 0; i < s.Parameters.Length; i++) s.Parameters[i] *= 0.9f;
        fast.LoadState(s);
        reference.LoadState(s);
        var g = fast.ComputeGradients(batches, data, new BatchEmbeddings(e, 4));
        var r = reference.ComputeGradients(batches, data, new BatchEmbeddings(e, 4));
        Assert.Equal(r.Gradients, g.Gradients);
        Assert.Equal(r.BufferSums, g.BufferSums);

        // Micro-batch 1 with other samples than were embedded under its index: computed from its own samples.
        fast.Embed(batches, data);
        var other = batches.Select(b => b.Index == 1 ? b with { Samples = Batches(1)[1].Samples } : b).ToList();
        var o = fast.ComputeGradients(other, data, new BatchEmbeddings(e, 4));
        var ro = reference.ComputeGradients(other, data, new BatchEmbeddings(e, 4));
        Assert.Equal(ro.Gradients, o.Gradients);
        Assert.Equal(ro.BufferSums, o.BufferSums);
    }

    [Fact]
    public void Kept_graphs_leave_no_live_tensors_behind()
    {
        var data = FashionMnist.LoadTrainCached(null);
        using var replica = new Replica(Tiny("simclr"));
        var batches = Batches(0);
        Step(replica, batches, data); // first use creates the gradient tensors
        long live = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++) Apply(replica, Step(replica, batches, data));
        replica.Embed(batches, data); // kept and never used: dropped by the next Embed, LoadState or Dispose
        replica.Embed(batches, data);
        replica.LoadState(replica.ReadState());
        Assert.Equal(live, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
