using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SslOrleans.Grains.Diagnostics;

namespace SslOrleans.Grains.Compute;

/// <summary>
/// Counts what the data plane's listener refused, by reason (and on the meter, sslo.dataplane.refused), and logs a
/// refusal with its peer and reason at most once per window: a peer sending garbage in a loop must not flood the log,
/// so the next line says how many went unlogged in between.
/// </summary>
internal sealed class DataPlaneRefusals(ILogger logger, TimeSpan window)
{
    private readonly ConcurrentDictionary<string, long> byReason = new();
    private long total, unlogged;
    private long lastLogged = long.MinValue;

    public long Total => Interlocked.Read(ref total);

    public long Of(string reason) => byReason.TryGetValue(reason, out var n) ? n : 0;

    public void Record(System.Net.EndPoint? peer, string reason, string detail)
    {
        Interlocked.Increment(ref total);
        byReason.AddOrUpdate(reason, 1, (_, n) => n + 1);
        TrainingMetrics.DataPlaneRefused.Add(1, new KeyValuePair<string, object?>("sslo.reason", reason));
        long now = Stopwatch.GetTimestamp(), last = Interlocked.Read(ref lastLogged);
        bool due = last == long.MinValue || Stopwatch.GetElapsedTime(last, now) >= window;
        if (!due || Interlocked.CompareExchange(ref lastLogged, now, last) != last)
        {
            Interlocked.Increment(ref unlogged);
            return;
        }
        long skipped = Interlocked.Exchange(ref unlogged, 0);
        logger.LogWarning("Tensor data plane refused {Peer}: {Reason}, {Detail}{Skipped}", peer?.ToString() ?? "an unknown peer", reason, detail,
            skipped > 0 ? $" ({skipped} more refusals since the last one logged)" : "");
    }
}
