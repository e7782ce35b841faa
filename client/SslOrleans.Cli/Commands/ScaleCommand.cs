using System.CommandLine;
using System.Text.Json;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo scale RUN --workers N --cluster CONN: joins the cluster and sets the number of workers the running run aims
/// for from its next step boundary; prints one JSON line. A run id the cluster does not know, or a run that is no
/// longer running, is bad input: one line on stderr, exit code 2.
/// </summary>
[Verb(20)]
public static class ScaleCommand
{
    public static Command Create()
    {
        var run = CommonOptions.RunId();
        var workers = Flag.PositiveInteger("--workers",
            "The workers the run aims for from its next step boundary: 1 to batch / micro-batch (the global batch and micro-batch stay); required");
        var cluster = CommonOptions.Cluster("The cluster the run trains on; required");
        // Scale prints its JSON line alone already; --json is accepted so that every cluster verb takes it.
        var json = CommonOptions.Json();
        var command = new Command("scale",
            "Sets the workers a running run aims for from its next step boundary; one JSON line: run id, state, step, target and current workers")
        {
            run, workers, cluster, json,
        };
        command.SetAction((parsed, _) => ScaleAsync(parsed.GetValue(run)!,
            parsed.GetValue(workers) ?? throw parsed.Problem("--workers N is missing"), parsed.RequiredCluster(cluster), parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    private static async Task<int> ScaleAsync(string runId, int workers, Client.ClusterConnection connection, TextWriter stdout, TextWriter stderr)
    {
        await using var cluster = await CommonOptions.JoinAsync(connection, stderr);
        var client = new TrainingClient(cluster.Client);
        RunStatus status;
        try
        {
            status = await client.ScaleAsync(runId, workers);
        }
        catch (Exception e) when (e is RunNotFoundException or InvalidOperationException)
        {
            // An unknown run, or one that has finished: the operator named the wrong run.
            stderr.WriteLine($"sslo: scale: {e.Message}");
            return 2;
        }
        stderr.WriteLine($"sslo: run {runId} aims for {workers} worker{(workers == 1 ? "" : "s")} from its next step boundary (it has {status.Workers} now)");
        stdout.WriteLine(JsonSerializer.Serialize(new ScaleResult(status.RunId, status.State, status.Step, workers, status.Workers), JsonLines.WithEnums));
        return 0;
    }

    /// <summary>What sslo scale prints: the run, its state and step, the workers asked for and the workers it has now.</summary>
    public sealed record ScaleResult(string RunId, RunState State, long Step, int TargetWorkers, int Workers);
}
