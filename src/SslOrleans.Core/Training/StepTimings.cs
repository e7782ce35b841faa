using System.Diagnostics;

namespace SslOrleans.Core.Training;

/// <summary>
/// Where a replica's compute time went, summed over the calls made while <see cref="Replica.Timings"/> pointed here
/// (seconds). Filled by <see cref="Replica.Embed"/> and <see cref="Replica.ComputeGradients"/> for benchmarks
/// (<c>sslo bench step</c>); a replica without timings does not measure. The parts do not overlap.
/// </summary>
public sealed class StepTimings
{
    /// <summary>Getting the micro-batches' images from the source.</summary>
    public double Data { get; set; }
    /// <summary>Forming the views (<see cref="Transforms.ViewTransform.Apply"/>), in both passes.</summary>
    public double Views { get; set; }
    /// <summary>The no-grad embedding pass of a global-batch loss, views excluded.</summary>
    public double EmbedForward { get; set; }
    /// <summary>Forward of the gradient pass (and the global loss and its gradient), views excluded.</summary>
    public double Forward { get; set; }
    /// <summary>Back-propagation, including reading the loss value.</summary>
    public double Backward { get; set; }
    /// <summary>Copying gradients and buffers out and adding them into the float64 sums.</summary>
    public double Gather { get; set; }

    public double Total => Data + Views + EmbedForward + Forward + Backward + Gather;

    public void Clear() => Data = Views = EmbedForward = Forward = Backward = Gather = 0;

    internal static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;
}
