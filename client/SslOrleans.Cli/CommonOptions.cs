using System.CommandLine;
using SslOrleans.Client;

namespace SslOrleans.Cli;

/// <summary>
/// Options and arguments that several commands share, made here so that each reads and behaves the same everywhere
/// (each call makes a new one: a command owns its options).
/// </summary>
public static class CommonOptions
{
    public const string ClusterForms =
        "redis://host:port[?cluster=ID&service=ID], an Azure Storage connection string [;ClusterId=ID;ServiceId=ID] " +
        "(deploy/local/cluster.sh up N prints it; without an id, the one cluster with active silos there is used), " +
        "or localhost:GATEWAYPORT[,PORT…][?cluster=ID] for silos with localhost clustering";

    /// <summary>
    /// --cluster CONN: the cluster to join, checked as it parses (a malformed connection is bad input before anything
    /// starts). Given twice it is an error: two clusters are more likely a mistake than an override.
    /// </summary>
    public static Option<ClusterConnection?> Cluster(string description) =>
        Flag.Valued<ClusterConnection?>("--cluster", "CONN", $"{description}: {ClusterForms}", ClusterConnection.Parse, once: true);

    /// <summary>The cluster a command cannot work without, or a bad-input error that says where it comes from.</summary>
    public static ClusterConnection RequiredCluster(this ParseResult parsed, Option<ClusterConnection?> cluster) =>
        parsed.GetValue(cluster) ?? throw parsed.Problem("--cluster CONN is missing: the cluster the run trains on (deploy/local/cluster.sh up prints it)");

    /// <summary>--json: stdout gets the JSON line alone, for scripts; without it a summary for people comes first.</summary>
    public static Option<bool> Json() =>
        Flag.Switch("--json", "Print only the JSON line on stdout (without it, a summary comes first; the JSON is always the last line)");

    /// <summary>RUN: a run's id on the cluster.</summary>
    public static PositionalArgument RunId() => Flag.Positional("RUN", "The run's id on the cluster (its run_id)", "the run id is missing");

    /// <summary>Joins the cluster as a client and says which one on stderr.</summary>
    public static async Task<ClusterClientHost> JoinAsync(ClusterConnection connection, TextWriter stderr)
    {
        var joined = await ClusterClientHost.ConnectAsync(connection);
        stderr.WriteLine($"sslo: joined cluster {joined.Connection.ClusterId} (service {joined.Connection.ServiceId}) through {joined.Connection.Display}");
        return joined;
    }
}
