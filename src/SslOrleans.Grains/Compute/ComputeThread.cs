using System.Collections.Concurrent;

namespace SslOrleans.Grains.Compute;

/// <summary>
/// A dedicated thread for a worker's tensor work. Grains must never block the Orleans scheduler, and
/// TorchSharp dispose scopes are thread-bound: every call for a replica runs here, in order, and the
/// grain awaits the result.
/// </summary>
public sealed class ComputeThread : IDisposable
{
    private readonly BlockingCollection<Action> queue = new();
    private readonly Thread thread;

    public ComputeThread(string name)
    {
        thread = new Thread(Run) { IsBackground = true, Name = name };
        thread.Start();
    }

    public Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.Add(() =>
        {
            try { done.SetResult(work()); }
            catch (Exception e) { done.SetException(e); }
        });
        return done.Task;
    }

    public Task RunAsync(Action work) => RunAsync(() => { work(); return true; });

    private void Run()
    {
        foreach (var work in queue.GetConsumingEnumerable()) work();
    }

    public void Dispose()
    {
        queue.CompleteAdding();
        if (Thread.CurrentThread != thread) thread.Join();
        queue.Dispose();
    }
}
