using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo status RUN --cluster CONN: a run's status on the cluster (state, step, last step, sample ledger totals,
/// workers, roles, result) as one JSON line, the last of stdout; a line for people comes before it unless --json.
/// A run id the cluster does not know is bad input: one line on stderr, exit code 2.
/// </summary>
[Verb(30)]
public static class StatusCommand
{
    public static Command Create()
    {
        var run = CommonOptions.RunId();
        var cluster = CommonOptions.Cluster("The cluster the run trains on; required");
        var json = CommonOptions.Json();
        var command = new Command("status",
            "A run's status on the cluster (state, step, last step, sample ledger totals, workers, result) as one JSON line")
        {
            run, cluster, json,
        };
        command.SetAction((parsed, _) => StatusAsync(parsed.GetValue(run)!, parsed.RequiredCluster(cluster), parsed.GetValue(json), parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    private static async Task<int> StatusAsync(string runId, Client.ClusterConnection connection, bool jsonOnly, TextWriter stdout, TextWriter stderr)
    {
        await using var cluster = await CommonOptions.JoinAsync(connection, stderr);
        RunStatus status;
        try
        {
            status = await new TrainingClient(cluster.Client).GetStatusAsync(runId);
        }
        catch (RunNotFoundException e)
        {
            stderr.WriteLine($"sslo: status: {e.Message}");
            return 2;
        }
        if (!jsonOnly) stdout.WriteLine(Summary(status));
        stdout.WriteLine(JsonSerializer.Serialize(status, JsonLines.WithEnums));
        return 0;
    }

    /// <summary>One line for people: "run r1: running, step 12/100, byol resnet18, 2 workers, loss 3.142".</summary>
    public static string Summary(RunStatus s)
    {
        var parts = new List<string> { $"run {s.RunId}: {s.State.ToString().ToLowerInvariant()}", $"step {s.Step}/{s.PlannedSteps}" };
        if (s.Method is not null) parts.Add($"{s.Method} {s.Backbone}".TrimEnd());
        parts.Add($"{s.Workers} worker{(s.Workers == 1 ? "" : "s")}");
        if (s.Last is { } last) parts.Add(string.Create(CultureInfo.InvariantCulture, $"loss {last.Loss:G4}"));
        if (!s.IsFinished && s.Phase is { Length: > 0 } phase && phase != "training") parts.Add(phase);
        if (s.Error is not null) parts.Add($"error: {s.Error}");
        return string.Join(", ", parts);
    }
}
