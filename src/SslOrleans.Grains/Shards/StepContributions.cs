using SslOrleans.Abstractions.Shards;

namespace SslOrleans.Grains.Shards;

/// <summary>
/// The pushed chunks of one step at one shard, by contribution (a range of micro-batches) and by chunk offset.
/// Work may be sent twice (a worker's call that timed out, then redone elsewhere) or not at all (a worker lost
/// mid-push): a chunk already held is dropped, a range that overlaps another range is refused, and an apply asks
/// <see cref="Gaps"/> and <see cref="Incomplete"/> by range, never by a count, which two copies of one range
/// and a missing other range would satisfy.
/// </summary>
public sealed class StepContributions(long values)
{
    private readonly SortedDictionary<int, Contribution> byFirst = new();

    /// <summary>Values each complete contribution holds: the shard's [gradient | buffers] length.</summary>
    public long Values { get; } = values;

    /// <summary>Chunks dropped because the same range's chunk at the same offset was already held.</summary>
    public int DuplicateChunks { get; private set; }

    private sealed class Contribution(MicroBatchRange range)
    {
        public MicroBatchRange Range { get; } = range;
        public SortedDictionary<long, ShardChunk> Chunks { get; } = new();
        public long Received { get; set; }
    }

    /// <summary>Adds a chunk of <paramref name="elements"/> values; false when it was a duplicate and is dropped.</summary>
    public bool Add(ShardChunk chunk, long elements)
    {
        if (chunk.Count < 1 || chunk.First < 0)
            throw new ArgumentException($"a push names micro-batches [{chunk.First}, {chunk.First + chunk.Count}): it must name at least one, from 0");
        var range = new MicroBatchRange(chunk.First, chunk.Count);
        if (!byFirst.TryGetValue(range.First, out var c))
        {
            if (byFirst.Values.FirstOrDefault(o => o.Range.First < range.End && range.First < o.Range.End) is { } other)
                throw new InvalidOperationException($"micro-batches {range} overlap {other.Range}, pushed before in this step: each micro-batch counts once");
            byFirst[range.First] = c = new Contribution(range);
        }
        else if (c.Range != range)
            throw new InvalidOperationException($"micro-batches {range} overlap {c.Range}, pushed before in this step: each micro-batch counts once");
        if (c.Chunks.ContainsKey(chunk.Offset))
        {
            DuplicateChunks++;
            return false;
        }
        // Chunks of one contribution are cut the same way every time; one that straddles another is a bug.
        var before = c.Chunks.Where(k => k.Key < chunk.Offset).Select(k => (KeyValuePair<long, ShardChunk>?)k).LastOrDefault();
        var after = c.Chunks.Where(k => k.Key > chunk.Offset).Select(k => (KeyValuePair<long, ShardChunk>?)k).FirstOrDefault();
        if (before is { } b && b.Key + Length(b.Value, chunk, elements) > chunk.Offset || after is { } a && chunk.Offset + elements > a.Key)
            throw new InvalidOperationException($"micro-batches {range}: a chunk at value {chunk.Offset} overlaps another chunk of the same contribution");
        c.Chunks[chunk.Offset] = chunk;
        c.Received += elements;
        return true;
    }

    /// <summary>The ranges of which every value arrived, in micro-batch order.</summary>
    public IReadOnlyList<MicroBatchRange> Complete => byFirst.Values.Where(c => c.Received == Values).Select(c => c.Range).ToList();

    /// <summary>Ranges that started to arrive but miss values.</summary>
    public IReadOnlyList<MicroBatchRange> Incomplete => byFirst.Values.Where(c => c.Received != Values).Select(c => c.Range).ToList();

    /// <summary>The micro-batches of [0, <paramref name="microBatches"/>) no complete contribution covers, as ranges.</summary>
    public IReadOnlyList<MicroBatchRange> Gaps(int microBatches)
    {
        var gaps = new List<MicroBatchRange>();
        int at = 0;
        foreach (var r in Complete)
        {
            if (r.First > at) gaps.Add(new MicroBatchRange(at, Math.Min(r.First, microBatches) - at));
            at = Math.Max(at, r.End);
        }
        if (at < microBatches) gaps.Add(new MicroBatchRange(at, microBatches - at));
        return gaps.Where(g => g.Count > 0).ToList();
    }

    /// <summary>The complete contributions' chunks, in micro-batch order (the order the shard sums them in).</summary>
    public IReadOnlyList<IReadOnlyCollection<ShardChunk>> InOrder() =>
        byFirst.Values.Where(c => c.Received == Values).Select(c => (IReadOnlyCollection<ShardChunk>)c.Chunks.Values).ToList();

    public void Clear()
    {
        byFirst.Clear();
        DuplicateChunks = 0;
    }

    // The length in values of an earlier chunk, in the same element size as the new one.
    private static long Length(ShardChunk held, ShardChunk incoming, long incomingElements) =>
        incoming.Data.Length == 0 ? 0 : held.Data.Length * incomingElements / incoming.Data.Length;
}
