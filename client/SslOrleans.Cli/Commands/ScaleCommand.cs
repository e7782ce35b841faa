using System.Text.Json;
using System.Text.Json.Serialization;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Cli.Specs;
using SslOrleans.Client;
using SslOrleans.Hosting;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo scale RUN --workers N --cluster CONN: joins the cluster (<see cref="ClusterConnection"/>) and sets the number
/// of workers the running run aims for from its next step boundary; prints one JSON line. sslo status RUN --cluster
/// CONN prints the run's status (with the sample ledger's totals) as one JSON line. A run id the cluster does not
/// know, or a run that is no longer running (scale), is bad input: one line on stderr, exit code 2.
/// </summary>
public static class ScaleCommand
{
    public const string ScaleUsage = "usage: sslo scale RUN --workers N --cluster CONN";
    public const string StatusUsage = "usage: sslo status RUN --cluster CONN";

    public static readonly JsonSerializerOptions Json = new(PretrainCommand.Json)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static async Task<int> ScaleAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var (runId, flags) = Parse(args, "scale", ScaleUsage, ["workers", "cluster"]);
        int workers = flags.PositiveInteger("workers") ?? throw new SpecException($"scale: --workers N is missing; {ScaleUsage}");
        var connection = Connection(flags, "scale", ScaleUsage);
        await using var cluster = await JoinAsync(connection, stderr);
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
        stdout.WriteLine(JsonSerializer.Serialize(new ScaleResult(status.RunId, status.State, status.Step, workers, status.Workers), Json));
        return 0;
    }

    public static async Task<int> StatusAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var (runId, flags) = Parse(args, "status", StatusUsage, ["cluster"]);
        var connection = Connection(flags, "status", StatusUsage);
        await using var cluster = await JoinAsync(connection, stderr);
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
        stdout.WriteLine(JsonSerializer.Serialize(status, Json));
        return 0;
    }

    /// <summary>What sslo scale prints: the run, its state and step, the workers asked for and the workers it has now.</summary>
    public sealed record ScaleResult(string RunId, RunState State, long Step, int TargetWorkers, int Workers);

    private static (string RunId, CommandFlags Flags) Parse(IReadOnlyList<string> args, string command, string usage, string[] valued)
    {
        if (args.Count == 0 || args[0].StartsWith("--", StringComparison.Ordinal) || args[0].Length == 0)
            throw new SpecException($"{command}: the run id is missing; {usage}");
        return (args[0], CommandFlags.Parse(args.Skip(1).ToList(), command, usage, valued, []));
    }

    private static ClusterConnection Connection(CommandFlags flags, string command, string usage) =>
        ClusterConnection.Parse(flags.Text("cluster") is { Length: > 0 } text ? text
            : throw new SpecException($"{command}: --cluster CONN is missing: the cluster the run trains on (deploy/local/cluster.sh up prints it); {usage}"));

    private static async Task<ClusterClientHost> JoinAsync(ClusterConnection connection, TextWriter stderr)
    {
        var joined = await ClusterClientHost.ConnectAsync(connection);
        stderr.WriteLine($"sslo: joined cluster {joined.Connection.ClusterId} (service {joined.Connection.ServiceId}) through {joined.Connection.Display}");
        return joined;
    }
}
