using System.CommandLine;
using System.Text.Json;
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
[Verb(10)]
public static class PretrainCommand
{
    private const string Description =
        "Pretrains a backbone on an embedded single-process cluster, or with --cluster on an existing one. Every run-spec " +
        "key is a flag (below) and a key of the --config YAML. Progress on stderr, the JSON result (with silos and workers) " +
        "as the last stdout line; Ctrl+C stops with a checkpoint";

    public static Command Create()
    {
        var flags = new RunSpecFlags();
        var cluster = CommonOptions.Cluster("Train on this cluster instead of an embedded one");
        var detach = Flag.Switch("--detach",
            "With --cluster: submit the run and return at once; the last stdout line is a JSON object with its run_id " +
            "(follow it with sslo watch, stop it with sslo stop)");
        var command = new Command("pretrain", Description);
        flags.AddTo(command);
        command.Add(cluster);
        command.Add(detach);
        command.SetAction((parsed, _) =>
        {
            var connection = parsed.GetValue(cluster);
            if (parsed.GetValue(detach) && connection is null)
                throw parsed.Problem("--detach needs --cluster CONN: a run on the embedded cluster ends with this process");
            var spec = flags.Load(parsed);
            return parsed.GetValue(detach)
                ? DetachAsync(spec, connection!, parsed.Stdout(), parsed.Stderr())
                : RunAsync(spec, connection, parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    /// <summary>Runs <paramref name="spec"/> (as <see cref="SpecLoader"/> made it) on an embedded cluster, or on <paramref name="connection"/>'s.</summary>
    public static async Task<int> RunAsync(RunSpec spec, ClusterConnection? connection, TextWriter stdout, TextWriter stderr)
    {
        spec = Prepare(spec, connection, stderr);
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
            stdout.WriteLine(JsonSerializer.Serialize(final.Result, JsonLines.Options));
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>The method's defaults and the checks that need this machine (tokenizer, data), before any cluster starts.</summary>
    private static RunSpec Prepare(RunSpec spec, ClusterConnection? connection, TextWriter stderr)
    {
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
            // The check pass over every image (cached) finds bad samples here, before training, naming each.
            Grains.Data.DatasetCatalog.Train(spec, Grains.Data.DatasetChecks.Printer(stderr));
            Grains.Data.DatasetCatalog.TryTest(spec, Grains.Data.DatasetChecks.Printer(stderr));
        }
        return spec;
    }

    /// <summary>Submits <paramref name="spec"/> to the cluster and returns: the run goes on without this process.</summary>
    public static async Task<int> DetachAsync(RunSpec spec, ClusterConnection connection, TextWriter stdout, TextWriter stderr)
    {
        spec = Prepare(spec, connection, stderr);
        await using var cluster = await StartOrJoinAsync(connection, spec.Workers, stderr);
        var status = await new TrainingClient(cluster.Client).SubmitAsync(spec);
        stderr.WriteLine($"sslo: run {spec.RunId} submitted; follow it with: sslo watch {spec.RunId} --cluster CONN");
        stdout.WriteLine(JsonSerializer.Serialize(new Submitted(status.RunId, status.State, spec.Method, spec.Out, connection.ToString()), JsonLines.WithEnums));
        return 0;
    }

    /// <summary>What sslo pretrain --detach prints: the run, its state and where it writes; the cluster, safe to print.</summary>
    public sealed record Submitted(string RunId, RunState State, string Method, string Out, string Cluster);

    private static async Task<ITrainingCluster> StartOrJoinAsync(ClusterConnection? connection, int workers, TextWriter stderr)
    {
        if (connection is null) return await EmbeddedCluster.StartAsync(workers);
        var joined = await ClusterClientHost.ConnectAsync(connection);
        stderr.WriteLine($"sslo: joined cluster {joined.Connection.ClusterId} (service {joined.Connection.ServiceId}) through {joined.Connection.Display}");
        return joined;
    }

    private static string Budget(RunSpec s) =>
        s.Steps is { } st ? $"{st} steps" : s.Minutes is { } m ? $"{m} minutes" : $"{s.Epochs ?? 1} epochs";
}
