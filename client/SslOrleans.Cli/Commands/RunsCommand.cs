using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo runs --cluster CONN: the runs the cluster remembers, newest first (id, method, state, step, workers,
/// images/s), as a table for people and one JSON line (<c>{"runs": […]}</c>), the last of stdout.
/// </summary>
[Verb(31)]
public static class RunsCommand
{
    public static Command Create()
    {
        var cluster = CommonOptions.Cluster("The cluster to list; required");
        var json = CommonOptions.Json();
        var command = new Command("runs", "The runs of a cluster, newest first: id, method, state, step, workers, images/s") { cluster, json };
        command.SetAction((parsed, _) => RunAsync(parsed.RequiredCluster(cluster), parsed.GetValue(json), parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    /// <summary>One run as sslo runs lists it.</summary>
    public sealed record Row(string RunId, string? Method, string? Backbone, RunState State, string Phase, long Step, long PlannedSteps,
        int Workers, double? ImagesPerSec, double? Loss, DateTimeOffset? StartedAt, string? Out);

    private static async Task<int> RunAsync(ClusterConnection connection, bool jsonOnly, TextWriter stdout, TextWriter stderr)
    {
        await using var cluster = await CommonOptions.JoinAsync(connection, stderr);
        var runs = await new TrainingClient(cluster.Client).ListAsync();
        var rows = runs.Select(s => new Row(s.RunId, s.Method, s.Backbone, s.State, s.Phase, s.Step, s.PlannedSteps, s.Workers,
            s.Last?.ImagesPerSec ?? s.Result?.ImagesPerSec, s.Last?.Loss, s.StartedAt, s.Out)).ToList();
        if (!jsonOnly) Table(rows, stdout);
        stdout.WriteLine(JsonSerializer.Serialize(new { runs = rows }, JsonLines.WithEnums));
        return 0;
    }

    private static void Table(IReadOnlyList<Row> rows, TextWriter stdout)
    {
        if (rows.Count == 0)
        {
            stdout.WriteLine("no runs on this cluster");
            return;
        }
        string[] head = ["RUN", "METHOD", "STATE", "STEP", "WORKERS", "IMG/S", "STARTED"];
        var cells = rows.Select(r => new[]
        {
            r.RunId, r.Method ?? "?", r.State.ToString().ToLowerInvariant(), $"{r.Step}/{r.PlannedSteps}", r.Workers.ToString(CultureInfo.InvariantCulture),
            r.ImagesPerSec is { } x ? x.ToString("F1", CultureInfo.InvariantCulture) : "-",
            r.StartedAt?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-",
        }).ToList();
        var widths = head.Select((h, i) => Math.Max(h.Length, cells.Max(c => c[i].Length))).ToArray();
        stdout.WriteLine(string.Join("  ", head.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var c in cells) stdout.WriteLine(string.Join("  ", c.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
    }
}
