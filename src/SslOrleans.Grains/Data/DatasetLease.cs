using SslOrleans.Core.Data;

namespace SslOrleans.Grains.Data;

/// <summary>A worker's hold on a dataset split (<see cref="DatasetCatalog.Lease"/>): disposing it lets the catalog
/// dispose the source once no worker of the process holds it.</summary>
public sealed class DatasetLease(IImageSource source, Action? release) : IDisposable
{
    private Action? release = release;

    public IImageSource Source { get; } = source;

    public void Dispose() => Interlocked.Exchange(ref release, null)?.Invoke();
}
