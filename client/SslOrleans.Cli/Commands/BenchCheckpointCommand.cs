using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data;
using SslOrleans.Core.Export;
using SslOrleans.Core.Numerics;
using SslOrleans.Core.Training;
using SslOrleans.Grains;
using SslOrleans.Grains.Shards;
using SslOrleans.Storage;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo bench checkpoint: (1) one checkpoint of a model's full state (parameters, optimizer momentum, EMA target,
/// buffers, exported backbone) written to a location (az:// or a folder) and to a local folder with fsync, the shards
/// in parallel as the silos write them: bytes, seconds, throughput; (2) a short pretraining run with a checkpoint every
/// few steps against one without: mean step time and how long the step loop waited per checkpoint.
/// </summary>
public static class BenchCheckpointCommand
{
    public static Command Create()
    {
        var to = Flag.Text("--to", "az://CONTAINER/PREFIX|DIR", "Where the checkpoint and the short runs' checkpoints go; required");
        var local = Flag.Text("--local", "DIR", "The local folder written with fsync for comparison (default: TMP/sslo-bench-checkpoint)");
        var backbone = Flag.Text("--backbone", "NAME", "The checkpointed model's backbone", "resnet50");
        var width = Flag.PositiveInteger("--width", "The checkpointed model's width", 64);
        var shards = Flag.PositiveInteger("--shards", "Parameter shards: files written in parallel", 2);
        var runWidth = Flag.PositiveInteger("--run-width", "Width of the short runs (BYOL, resnet18)", 16);
        var runSteps = Flag.PositiveInteger("--run-steps", "Steps of each short run", 24);
        var runEvery = Flag.PositiveInteger("--run-every", "Steps between checkpoints in the run with checkpoints", 4);
        var batch = Flag.PositiveInteger("--batch", "Batch of the short runs", 128);
        var command = new Command("checkpoint",
            "One checkpoint of a model's whole state to --to and to a local folder with fsync (bytes, seconds, MB/s), and a short " +
            "run with a checkpoint every few steps against one without (step time, time the loop waited per checkpoint)")
        {
            to, local, backbone, width, shards, runWidth, runSteps, runEvery, batch,
        };
        command.SetAction((parsed, _) => RunAsync(new Settings(
            parsed.GetValue(to) ?? throw parsed.Problem("--to is required"),
            Path.GetFullPath(parsed.GetValue(local) ?? Path.Combine(Path.GetTempPath(), "sslo-bench-checkpoint")),
            parsed.GetValue(backbone)!, parsed.GetValue(width), parsed.GetValue(shards),
            parsed.GetValue(runWidth), parsed.GetValue(runSteps), parsed.GetValue(runEvery), parsed.GetValue(batch)), parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    private sealed record Settings(string To, string Local, string Backbone, int Width, int Shards, int RunWidth, int RunSteps, int RunEvery, int Batch);

    private static async Task<int> RunAsync(Settings o, TextWriter stdout, TextWriter stderr)
    {
        var (to, local) = (o.To, o.Local);
        var spec = Grains.Runs.RunPlan.WithMethodDefaults(new RunSpec
        {
            Method = "byol", Backbone = o.Backbone, Width = o.Width, ParameterShards = o.Shards, RunId = "bench-checkpoint",
        });
        var stores = new CheckpointStoreFactory(new StorageOptions().WithEnvironment());
        var target = stores.Open(to + "/" + Guid.NewGuid().ToString("N")[..8]);
        var disk = stores.Open(Path.Combine(local, Guid.NewGuid().ToString("N")[..8]));

        stderr.WriteLine($"sslo bench checkpoint: building {spec.Backbone} width {spec.Width} with BYOL's heads; {CpuIdentity.Current}");
        var files = Files(spec);
        long bytes = files.Sum(f => (long)f.Data.Length);
        stderr.WriteLine($"sslo bench checkpoint: {files.Count} files, {bytes / 1e6:F1} MB; writing to {target.Location} and {disk.Location}");
        var upload = await WriteAsync(target, files);
        var fsync = await WriteAsync(disk, files);
        await disk.DeleteStepAsync(1);
        await target.DeleteStepAsync(1);

        int runWidth = o.RunWidth, steps = o.RunSteps, every = o.RunEvery, batch = o.Batch;
        stderr.WriteLine($"sslo bench checkpoint: BYOL resnet18 width {runWidth}, {steps} steps of batch {batch}, checkpoints every {every} steps to {to}, then none");
        var with = await PretrainAsync(to, runWidth, steps, batch, every, stderr);
        var without = await PretrainAsync(to, runWidth, steps, batch, 0, stderr);
        double StepSeconds(JsonElement r) => r.GetProperty("train_seconds").GetDouble() / r.GetProperty("steps").GetDouble();
        int checkpoints = with.GetProperty("checkpoints").GetInt32() - 1; // the final one is taken after training
        double blocked = with.GetProperty("checkpoint_blocked_seconds").GetDouble() / Math.Max(1, checkpoints);

        stdout.WriteLine(JsonSerializer.Serialize(new
        {
            model = $"byol {spec.Backbone} width {spec.Width}",
            bytes,
            files = files.Count,
            location = to,
            upload_seconds = upload,
            upload_mb_per_s = bytes / 1e6 / upload,
            local_fsync_seconds = fsync,
            local_mb_per_s = bytes / 1e6 / fsync,
            run = $"byol resnet18 width {runWidth}, batch {batch}, {steps} steps",
            step_seconds_with_checkpoints = StepSeconds(with),
            step_seconds_without = StepSeconds(without),
            checkpoints_during_training = checkpoints,
            blocked_seconds_per_checkpoint = blocked,
            blocked_steps_per_checkpoint = blocked / StepSeconds(without),
            processor = CpuIdentity.Current.ToString(),
        }));
        return 0;
    }

    /// <summary>A checkpoint's files as the run writes them: one shard file per parameter shard (the model's initial
    /// values, zero momentum) and the exported backbone.</summary>
    private static List<(string Name, byte[] Data)> Files(RunSpec spec)
    {
        var data = FashionMnist.LoadTrainCached(spec.Data);
        using var replica = new Replica(RunSpecOptions.Method(spec, data), probeClasses: data.Classes);
        var state = replica.ReadState();
        var files = new List<(string, byte[])>();
        int shards = spec.ParameterShards;
        for (int k = 0; k < shards; k++)
        {
            float[] Slice(float[] all) => all[(int)((long)all.Length * k / shards)..(int)((long)all.Length * (k + 1) / shards)];
            var parameters = Slice(state.Parameters);
            files.Add((CheckpointNames.Shard(k), new ShardFile(1, k, parameters, new float[parameters.Length], [], Slice(state.Target), Slice(state.Buffers)).ToBytes()));
        }
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, replica.BackboneStateDict());
        files.Add((CheckpointNames.Backbone, stream.ToArray()));
        return files;
    }

    /// <summary>Seconds to write every file, in parallel as the shards on their silos do.</summary>
    private static async Task<double> WriteAsync(ICheckpointStore store, List<(string Name, byte[] Data)> files)
    {
        await store.WriteFileAsync(0, "warm-up", new byte[1]); // the first request opens connections and creates the container
        await store.DeleteStepAsync(0);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(files.Select(f => Task.Run(() => store.WriteFileAsync(1, f.Name, f.Data))));
        return clock.Elapsed.TotalSeconds;
    }

    private static async Task<JsonElement> PretrainAsync(string to, int width, int steps, int batch, int every, TextWriter stderr)
    {
        var output = new StringWriter();
        var location = $"{to}/run-{(every > 0 ? "with" : "without")}-{Guid.NewGuid():N}"[..(to.Length + 20)];
        var spec = SpecLoader.Load(["--method", "byol", "--width", width.ToString(), "--batch", batch.ToString(), "--steps", steps.ToString(),
            "--checkpoint-every", every.ToString(), "--checkpoint-minutes", "0", "--no-eval", "--workers", "2", "--out", location]);
        int code = await PretrainCommand.RunAsync(spec, null, output, stderr);
        if (code != 0) throw new InvalidOperationException($"bench checkpoint: the pretraining run to {location} exited with {code}");
        using var json = JsonDocument.Parse(output.ToString().TrimEnd().Split('\n')[^1]);
        return json.RootElement.Clone();
    }
}
