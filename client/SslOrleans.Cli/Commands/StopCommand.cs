using System.CommandLine;
using System.Text.Json;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo stop RUN --cluster CONN [--wait]: asks a run to stop after its current step, writing a checkpoint it can be
/// resumed from (<c>sslo pretrain --resume --out …</c>). Prints the run's status as one JSON line; with --wait, the
/// status once the run has stopped. A run id the cluster does not know is bad input (exit code 2).
/// </summary>
[Verb(33)]
public static class StopCommand
{
    public static Command Create()
    {
        var run = CommonOptions.RunId();
        var cluster = CommonOptions.Cluster("The cluster the run trains on; required");
        var json = CommonOptions.Json();
        var wait = Flag.Switch("--wait", "Wait until the run has stopped (its final checkpoint written) and print that status");
        var command = new Command("stop", "Stops a run after its current step with a checkpoint it can resume from") { run, cluster, wait, json };
        command.SetAction((parsed, cancel) => RunAsync(parsed.GetValue(run)!, parsed.RequiredCluster(cluster), parsed.GetValue(wait), parsed.GetValue(json),
            parsed.Stdout(), parsed.Stderr(), cancel));
        return command;
    }

    private static async Task<int> RunAsync(string runId, ClusterConnection connection, bool wait, bool jsonOnly, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        await using var cluster = await CommonOptions.JoinAsync(connection, stderr);
        var client = new TrainingClient(cluster.Client);
        RunStatus status;
        try
        {
            status = await client.StopAsync(runId);
        }
        catch (RunNotFoundException e)
        {
            stderr.WriteLine($"sslo: stop: {e.Message}");
            return 2;
        }
        if (status.IsFinished)
            stderr.WriteLine($"sslo: run {runId} has already ended ({status.State.ToString().ToLowerInvariant()})");
        else
        {
            stderr.WriteLine($"sslo: run {runId} stops after its current step (at step {status.Step}) and writes a checkpoint in {status.Out}");
            if (wait)
            {
                await foreach (var update in client.WatchAsync(runId, afterStep: status.Step, cancellation: cancel))
                    if (update.Status.IsFinished) status = update.Status;
            }
        }
        if (!jsonOnly) stdout.WriteLine(StatusCommand.Summary(status));
        stdout.WriteLine(JsonSerializer.Serialize(status, JsonLines.WithEnums));
        return 0;
    }
}
