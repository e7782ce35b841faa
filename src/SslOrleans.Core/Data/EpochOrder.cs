using SslOrleans.Core.Training;

namespace SslOrleans.Core.Data;

/// <summary>
/// The deterministic sample order of each epoch. Uses its own SplitMix64 + Fisher–Yates instead of
/// <see cref="System.Random"/>, whose algorithm is not guaranteed across .NET versions: a run resumed
/// on another runtime, or a worker on another machine, must see exactly the same order.
/// </summary>
public static class EpochOrder
{
    /// <summary>A permutation of [0, count) that depends only on (count, seed, epoch).</summary>
    public static int[] Permutation(int count, int seed, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);

        var order = new int[count];
        for (int i = 0; i < count; i++)
        {
            order[i] = i;
        }

        // Seed and epoch go through separate mixing rounds so nearby (seed, epoch) pairs give unrelated streams.
        ulong state = 0x6A09E667F3BCC909UL ^ (ulong)(uint)seed;
        state = SplitMix64.Next(ref state) ^ (ulong)(uint)epoch;
        state = SplitMix64.Next(ref state);

        // Fisher–Yates from the back: position i takes a uniform pick among the not-yet-placed [0, i].
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)SplitMix64.Below(ref state, (uint)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}
