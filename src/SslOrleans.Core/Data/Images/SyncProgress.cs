namespace SslOrleans.Core.Data.Images;

/// <summary>An <see cref="IProgress{T}"/> that calls its action at once, on the reporting thread (System.Progress posts
/// to the thread pool, so its lines could come out of order or after the work ended).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
