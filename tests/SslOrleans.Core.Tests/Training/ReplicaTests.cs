using SslOrleans.Core.Data;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;
using SslOrleans.Core.Training;

namespace SslOrleans.Core.Tests.Training;

/// <summary>The property the distributed step rests on: micro-batches may be split over replicas at will.</summary>
public sealed class ReplicaTests
{
    private static readonly MethodOptions Tiny = new("byol", new BackboneOptions("resnet18", 4, 1), Seed: 3, HiddenDim: 16, ProjectionDim: 8);

    private static List<MicroBatch> Batches()
    {
        var order = EpochOrder.Permutation(60000, 1, 0);
        return Enumerable.Range(0, 4).Select(j => new MicroBatch(j, order[(j * 8)..(j * 8 + 8)], (ulong)(100 + j))).ToList();
    }

    [Fact]
    public void Gradients_and_buffers_of_split_micro_batches_add_up_to_the_whole()
    {
        var data = FashionMnist.LoadTrainCached(null);
        using var whole = new Replica(Tiny);
        using var left = new Replica(Tiny);
        using var right = new Replica(Tiny);
        var all = whole.ComputeGradients(Batches(), data);
        var a = left.ComputeGradients(Batches()[..2], data);
        var b = right.ComputeGradients(Batches()[2..], data);
        Assert.Equal(4, all.MicroBatches);
        Assert.Equal(all.LossSum, a.LossSum + b.LossSum, 4);
        // Exact: float64 sums of the per-micro-batch float32 gradients do not depend on the grouping.
        Assert.Equal(all.Gradients, a.Gradients.Zip(b.Gradients, (x, y) => x + y).ToArray());
        Assert.Equal(all.BufferSums, a.BufferSums.Zip(b.BufferSums, (x, y) => x + y).ToArray());
        Assert.Contains(all.Gradients, g => g != 0);
    }

    [Fact]
    public void Repeated_steps_leave_no_live_tensors_behind()
    {
        var data = FashionMnist.LoadTrainCached(null);
        using var replica = new Replica(Tiny);
        var l = replica.Layout;
        var (p, b, t) = (new float[l.ParameterCount], new float[l.BufferCount], new float[l.TargetCount]);
        void Step()
        {
            replica.ComputeGradients(Batches()[..2], data);
            replica.ReadState(p, b, t);
            replica.LoadState(p, b, t);
            replica.Features(data, 0, 40, batchSize: 16);
            replica.BackboneParameterNorm();
        }
        Step(); // first use creates the gradient tensors
        long live = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++) Step();
        Assert.Equal(live, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void State_round_trips_through_flat_vectors()
    {
        using var a = new Replica(Tiny);
        using var b = new Replica(Tiny with { Seed = 99 });
        var l = a.Layout;
        var (p, buf, t) = (new float[l.ParameterCount], new float[l.BufferCount], new float[l.TargetCount]);
        a.ReadState(p, buf, t);
        for (int i = 0; i < buf.Length; i++) buf[i] += 0.5f; // buffers travel too
        b.LoadState(p, buf, t);
        var (p2, buf2, t2) = (new float[l.ParameterCount], new float[l.BufferCount], new float[l.TargetCount]);
        b.ReadState(p2, buf2, t2);
        Assert.Equal(p, p2);
        Assert.Equal(buf, buf2);
        Assert.Equal(t, t2);
        Assert.Throws<ArgumentException>(() => b.LoadState(p[1..], buf, t));
    }
}
