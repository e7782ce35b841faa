using System.Text.Json;
using System.Text.Json.Serialization;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Cli.Specs;
using SslOrleans.Client;
using SslOrleans.Hosting;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo pretrain: starts an embedded single-process cluster, or with <c>--cluster CONN</c> joins an existing one
/// (<see cref="ClusterConnection"/>), submits the run, shows live progress on stderr and prints the result as one
/// JSON object, the last line of stdout. Ctrl+C stops with a checkpoint.
/// </summary>
public static class PretrainCommand
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var (clusterText, specArgs) = TakeCluster(args);
        // A malformed connection is bad input: say so before anything else.
        var connection = clusterText is null ? null : ClusterConnection.Parse(clusterText);
        var spec = SpecLoader.Load(specArgs);
        if (!spec.Resume)
        {
            spec = Grains.Runs.RunPlan.WithMethodDefaults(spec);
            // A tokenizer in blob storage is checked by the run grain, which reads it.
            if (!Storage.StorageLocation.IsBlobText(spec.Tokenizer)) Grains.RunSpecOptions.CheckRequirements(spec);
        }

        if (connection is null && !Storage.StorageLocation.IsBlobText(spec.Data))
        {
            // Bad data is bad input: say so before any cluster starts (the load is cached for the embedded workers).
            // On a cluster the silos read the data, from the same absolute path (SpecLoader resolves --data and --out).
            Grains.Data.DatasetCatalog.Train(spec.Dataset, spec.Data);
            Grains.Data.DatasetCatalog.Test(spec.Dataset, spec.Data);
        }
        stderr.WriteLine(spec.Resume
            ? $"sslo: resuming the run in {spec.Out} from its latest checkpoint with {spec.Workers} workers"
            : $"sslo: {spec.Method} on {spec.Dataset}, {spec.Backbone} width {spec.Width}, {spec.Workers} workers, " +
              $"batch {spec.Batch} (micro-batch {spec.MicroBatch}), {Budget(spec)}, checkpoints in {spec.Out}");
        await using var cluster = await StartOrJoinAsync(connection, spec.Workers, stderr);
        var client = new TrainingClient(cluster.Client);
        using var cancel = new CancellationTokenSource();
        int interrupts = 0;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (++interrupts > 1) return; // a second Ctrl+C ends the process at once
            e.Cancel = true;
            stderr.WriteLine("\nsslo: stopping after this step and writing a checkpoint (Ctrl+C again to abort)");
            _ = client.StopAsync(spec.RunId);
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            await client.SubmitAsync(spec);
            var progress = new ProgressPrinter(stderr);
            RunStatus? final = null;
            await foreach (var update in client.WatchAsync(spec.RunId, cancellation: cancel.Token))
            {
                progress.Show(update);
                if (update.Status.IsFinished) final = update.Status;
            }
            progress.Done();
            if (final is null || final.State == RunState.Failed || final.Result is null)
            {
                stderr.WriteLine($"sslo: run {spec.RunId} failed: {final?.Error ?? "no result"}");
                return 1;
            }
            foreach (var warning in final.Result.Warnings ?? []) stderr.WriteLine($"sslo: warning: {warning}");
            stdout.WriteLine(JsonSerializer.Serialize(final.Result, Json));
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static async Task<ITrainingCluster> StartOrJoinAsync(ClusterConnection? connection, int workers, TextWriter stderr)
    {
        if (connection is null) return await EmbeddedCluster.StartAsync(workers);
        var joined = await ClusterClientHost.ConnectAsync(connection);
        stderr.WriteLine($"sslo: joined cluster {joined.Connection.ClusterId} (service {joined.Connection.ServiceId}) through {joined.Connection.Display}");
        return joined;
    }

    /// <summary>Takes <c>--cluster CONN</c> (or <c>--cluster=CONN</c>) out of the flags: it is no run-spec key.</summary>
    internal static (string? Cluster, IReadOnlyList<string> Others) TakeCluster(IReadOnlyList<string> args)
    {
        string? cluster = null;
        var rest = new List<string>(args.Count);
        for (int i = 0; i < args.Count; i++)
        {
            string? value;
            if (args[i] == "--cluster")
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new SpecException("--cluster needs a connection: redis://host:port[?cluster=ID] or an Azure Storage connection string");
                value = args[++i];
            }
            else if (args[i].StartsWith("--cluster=", StringComparison.Ordinal)) value = args[i]["--cluster=".Length..];
            else
            {
                rest.Add(args[i]);
                continue;
            }
            if (cluster is not null) throw new SpecException("--cluster is given twice");
            cluster = value;
        }
        return (cluster, rest);
    }

    private static string Budget(RunSpec s) =>
        s.Steps is { } st ? $"{st} steps" : s.Minutes is { } m ? $"{m} minutes" : $"{s.Epochs ?? 1} epochs";
}
