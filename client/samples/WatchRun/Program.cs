using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

// Watches a run of a training cluster to its end, one line per finished step, then the run's result.
//   dotnet run --project client/samples/WatchRun -- CONNECTION [RUN]
// CONNECTION is what `deploy/local/cluster.sh up` prints (redis://…, an Azure Storage connection string, or
// localhost:PORTS); without RUN, the newest running run of the cluster is watched.
if (args.Length is < 1 or > 2)
{
    Console.Error.WriteLine("usage: WatchRun CONNECTION [RUN]");
    return 2;
}

await using var cluster = await ClusterClientHost.ConnectAsync(args[0]);
var client = new TrainingClient(cluster.Client);

string? runId = args.Length == 2 ? args[1]
    : (await client.ListAsync()).FirstOrDefault(r => r.State == RunState.Running)?.RunId;
if (runId is null)
{
    Console.Error.WriteLine($"no running run on cluster {cluster.Connection}");
    return 1;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
RunStatus? final = null;
string phase = "";
await foreach (var update in client.WatchAsync(runId, cancellation: stop.Token))
{
    if (update.Step is { } p)
        Console.WriteLine($"{runId} step {p.Step}/{update.Status.PlannedSteps} loss {p.Loss:F4} {p.ImagesPerSec:F0} img/s workers {p.Workers}");
    else if (update.Status.Phase != phase)
        Console.WriteLine($"{runId} {update.Status.Phase}{(update.Status.Progress is { } g ? $" {g.Done}/{g.Total} {g.Unit}" : "")}");
    phase = update.Status.Phase;
    if (update.Status.IsFinished) final = update.Status;
}
Console.WriteLine($"{runId} {final?.State.ToString().ToLowerInvariant() ?? "unknown"} at step {final?.Step}" +
                  (final?.Result is { } r ? $": loss {r.LossFirst:F4} -> {r.LossLast:F4}" : final?.Error is { } err ? $": {err}" : ""));
return final?.State is RunState.Completed or RunState.Stopped ? 0 : 1;
