namespace SslOrleans.Grains.Compute;

/// <summary>
/// The bytes of received payloads the data plane holds across all its connections, below a cap. A frame reserves its
/// declared length before its array is allocated and gives it back once its shard took it; a reservation that does
/// not fit waits for others to give back, until its frame's deadline.
/// </summary>
internal sealed class DataPlaneBudget(long capacity)
{
    private readonly object gate = new();
    private long held, peak;
    private TaskCompletionSource released = NewSignal();

    public long Capacity => capacity;
    public long Held { get { lock (gate) return held; } }
    /// <summary>The most ever held at once.</summary>
    public long Peak { get { lock (gate) return peak; } }

    /// <summary>True once <paramref name="bytes"/> are reserved; false when they did not fit before <paramref name="token"/> fired.</summary>
    public async Task<bool> ReserveAsync(long bytes, CancellationToken token)
    {
        if (bytes > capacity) return false;
        while (true)
        {
            Task wait;
            lock (gate)
            {
                if (held + bytes <= capacity)
                {
                    held += bytes;
                    peak = Math.Max(peak, held);
                    return true;
                }
                wait = released.Task;
            }
            try { await wait.WaitAsync(token); }
            catch (OperationCanceledException) { return false; }
        }
    }

    public void Release(long bytes)
    {
        TaskCompletionSource wake;
        lock (gate)
        {
            held -= bytes;
            wake = released;
            released = NewSignal();
        }
        wake.TrySetResult(); // every waiter looks again; run continuations elsewhere, not under the lock or on this stack
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
