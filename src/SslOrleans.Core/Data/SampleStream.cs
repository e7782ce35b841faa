namespace SslOrleans.Core.Data;

/// <summary>
/// The endless stream of sample indices for one run: epoch after epoch, each a fresh
/// <see cref="EpochOrder.Permutation"/>. A global position (samples consumed since the start) fully
/// determines what comes next, so training can resume, or be split across workers, without shared state.
/// Thread-safe; the last two epoch permutations are cached because batches straddle at most one boundary.
/// </summary>
public sealed class SampleStream(int datasetSize, int seed)
{
    private readonly int size = datasetSize > 0
        ? datasetSize
        : throw new ArgumentOutOfRangeException(nameof(datasetSize), datasetSize, "the dataset must hold at least one sample");

    public int Seed { get; } = seed;

    private readonly Lock gate = new();
    private (int Epoch, int[] Order)? newest;
    private (int Epoch, int[] Order)? previous;

    /// <summary>The <paramref name="count"/> sample indices starting at <paramref name="globalPosition"/>.</summary>
    public int[] Take(long globalPosition, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(globalPosition);
        ArgumentOutOfRangeException.ThrowIfNegative(count);

        var result = new int[count];
        int filled = 0;
        long position = globalPosition;
        while (filled < count)
        {
            var (epoch, offset) = Locate(position, size);
            int n = Math.Min(count - filled, size - offset);
            Array.Copy(OrderOf(epoch), offset, result, filled, n);
            filled += n;
            position += n;
        }

        return result;
    }

    /// <summary>Which epoch a global position falls in, and its offset within that epoch's order.</summary>
    public static (int Epoch, int Offset) Locate(long globalPosition, int datasetSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(globalPosition);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(datasetSize);

        long epoch = Math.DivRem(globalPosition, datasetSize, out long offset);
        if (epoch > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(globalPosition), globalPosition, "position is beyond epoch int.MaxValue");
        }

        return ((int)epoch, (int)offset);
    }

    /// <summary>
    /// The contiguous slice [Start, End) of an epoch's offsets [0, datasetSize) that shard
    /// <paramref name="shard"/> of <paramref name="shards"/> handles. Sizes differ by at most one;
    /// the slices partition [0, datasetSize) (some are empty when there are more shards than samples).
    /// </summary>
    public static (int Start, int End) ShardRange(int datasetSize, int shard, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(datasetSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        if ((uint)shard >= (uint)shards)
        {
            throw new ArgumentOutOfRangeException(nameof(shard), shard, $"shard must be in [0, {shards})");
        }

        // long arithmetic: datasetSize * shards can exceed int.
        int start = (int)((long)datasetSize * shard / shards);
        int end = (int)((long)datasetSize * (shard + 1) / shards);
        return (start, end);
    }

    private int[] OrderOf(int epoch)
    {
        lock (gate)
        {
            if (newest is { } n && n.Epoch == epoch)
            {
                return n.Order;
            }

            if (previous is { } p && p.Epoch == epoch)
            {
                return p.Order;
            }

            var order = EpochOrder.Permutation(size, Seed, epoch);
            previous = newest;
            newest = (epoch, order);
            return order;
        }
    }
}
