using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Grains.Runs;

/// <summary>
/// Which micro-batches of which step were handed out, computed again and applied, kept as the stream positions the
/// applied ones cover (step t's micro-batch j is positions [t·B + j·m, t·B + (j + 1)·m) of the run's sample stream,
/// which is one seeded permutation per epoch). Lost and doubled samples are counted from that coverage, not from how
/// many micro-batches were summed, so a range applied twice and another never applied cannot cancel out.
/// </summary>
public sealed class SampleLedger(int batch, int microBatch)
{
    // Disjoint, sorted intervals [start, end) of stream positions used by applied steps.
    private readonly List<(long Start, long End)> covered = [];
    private long assigned, committed, redone, doubled, stepsRedone;
    private long appliedEnd; // one past the last position of the last applied step

    public int WorkersMax { get; private set; }

    public void Assigned(int microBatches) => assigned += microBatches;

    public void Redone(int microBatches) => redone += microBatches;

    public void Workers(int count) => WorkersMax = Math.Max(WorkersMax, count);

    /// <summary>Step <paramref name="step"/> was applied with these contributions (as every shard summed them).</summary>
    public void Applied(long step, IEnumerable<MicroBatchRange> ranges)
    {
        foreach (var r in ranges)
        {
            committed += r.Count;
            Cover(step * batch + (long)r.First * microBatch, step * batch + (long)r.End * microBatch);
        }
        appliedEnd = Math.Max(appliedEnd, (step + 1) * batch);
    }

    /// <summary>The run went back to the state after step <paramref name="step"/> − 1 (a checkpoint): what later steps
    /// applied is gone from the model, so it leaves the coverage, and those steps count as redone.</summary>
    public void RewindTo(long step, long fromStep)
    {
        long end = step * batch;
        for (int i = covered.Count - 1; i >= 0; i--)
        {
            var (s, e) = covered[i];
            if (s >= end) covered.RemoveAt(i);
            else if (e > end) covered[i] = (s, end);
        }
        appliedEnd = Math.Min(appliedEnd, end);
        stepsRedone += Math.Max(0, fromStep - step);
    }

    /// <summary>Positions of [0, end of the last applied step) that no applied step used.</summary>
    public long SamplesLost => appliedEnd - covered.Sum(c => c.End - c.Start);

    public long SamplesDoubled => doubled;

    /// <summary>The covered stream positions, merged: one interval [0, steps·B) when nothing was lost.</summary>
    public IReadOnlyList<(long Start, long End)> Coverage => covered;

    public SampleLedgerTotals Totals => new(assigned, committed, redone, SamplesLost, doubled, stepsRedone, WorkersMax);

    /// <summary>Restores the totals of a run that continues from persisted state.</summary>
    public void Restore(SampleLedgerTotals totals, long appliedSteps)
    {
        (assigned, committed, redone, doubled, stepsRedone) = (totals.MicrobatchesAssigned, totals.MicrobatchesCommitted, totals.MicrobatchesRedone, totals.SamplesDoubled, totals.StepsRedone);
        WorkersMax = totals.WorkersMax;
        covered.Clear();
        appliedEnd = appliedSteps * batch;
        // Whatever was lost before stays lost: the restored coverage leaves that many positions out at the end.
        if (appliedEnd - totals.SamplesLost > 0) covered.Add((0, appliedEnd - totals.SamplesLost));
    }

    private void Cover(long start, long end)
    {
        // Overlap with what is covered already counts as doubled; the union is kept.
        foreach (var (s, e) in covered)
            doubled += Math.Max(0, Math.Min(e, end) - Math.Max(s, start));
        covered.Add((start, end));
        covered.Sort();
        var merged = new List<(long Start, long End)>();
        foreach (var c in covered)
        {
            if (merged.Count > 0 && c.Start <= merged[^1].End) merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, c.End));
            else merged.Add(c);
        }
        covered.Clear();
        covered.AddRange(merged);
    }
}
