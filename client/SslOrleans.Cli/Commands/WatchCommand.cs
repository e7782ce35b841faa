using System.CommandLine;
using System.Text.Json;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo watch RUN --cluster CONN: a run's live progress on stderr (steps, and the phases after training with their
/// progress and ETA), pushed by the run, until it ends; then its final status as one JSON line, the last of stdout.
/// The watch outlives the loss of the coordinator's silo or of this client's gateway (the SDK renews its subscription
/// where the run now lives and fills any gap). Exit code 0 when the run completed or was stopped, 1 when it failed;
/// Ctrl+C ends the watch, not the run.
/// </summary>
[Verb(32)]
public static class WatchCommand
{
    public static Command Create()
    {
        var run = CommonOptions.RunId();
        var cluster = CommonOptions.Cluster("The cluster the run trains on; required");
        var json = CommonOptions.Json();
        var command = new Command("watch",
            "A run's live progress until it ends (survives a lost silo or gateway); then its final status as one JSON line")
        {
            run, cluster, json,
        };
        command.SetAction((parsed, cancel) => RunAsync(parsed.GetValue(run)!, parsed.RequiredCluster(cluster), parsed.GetValue(json),
            parsed.Stdout(), parsed.Stderr(), cancel));
        return command;
    }

    private static async Task<int> RunAsync(string runId, ClusterConnection connection, bool jsonOnly, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        await using var cluster = await CommonOptions.JoinAsync(connection, stderr);
        var client = new TrainingClient(cluster.Client);
        var progress = new ProgressPrinter(stderr);
        RunStatus? final = null;
        try
        {
            await foreach (var update in client.WatchAsync(runId, cancellation: cancel))
            {
                progress.Show(update);
                if (update.Status.IsFinished) final = update.Status;
            }
        }
        catch (RunNotFoundException e)
        {
            stderr.WriteLine($"sslo: watch: {e.Message}");
            return 2;
        }
        progress.Done();
        if (!jsonOnly) stdout.WriteLine(StatusCommand.Summary(final!));
        foreach (var warning in final!.Result?.Warnings ?? []) stderr.WriteLine($"sslo: warning: {warning}");
        stdout.WriteLine(JsonSerializer.Serialize(final, JsonLines.WithEnums));
        return final.State == RunState.Failed ? 1 : 0;
    }
}
