using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Evaluation;
using SslOrleans.Core.Methods;
using SslOrleans.Core.Numerics;
using SslOrleans.Core.Training;
using SslOrleans.Grains;
using SslOrleans.Grains.Data;
using TorchSharp;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo eval --checkpoint PATH: kNN (k = 20, 200) and linear-probe top-1 of a checkpoint's backbone, or with
/// --init of the backbone the run started from, on the run's dataset or with --dataset/--data on any labelled one
/// (its images brought to the backbone's size and channels). Runs in this process, no cluster; progress on stderr,
/// one JSON object as the last stdout line.
/// </summary>
[Verb(60)]
public static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = Flag.Text("--checkpoint", "PATH", "The checkpoint: a run folder (its latest), a step folder or a manifest.json; required");
        var init = Flag.Switch("--init", "Score the backbone the run started from instead (same seed, same weights)");
        var dataset = Flag.Text("--dataset", "FORMAT", "Score on another labelled dataset: fashion-mnist, imagefolder, tar, cifar10, cifar100 or stl10 (default: the run's); its images are brought to the backbone's size and channels");
        var data = Flag.Text("--data", "DIR", "The dataset's folder or az://CONTAINER/PREFIX (default: the run's, or the system locations)");
        var trainSamples = Flag.PositiveInteger("--train-samples", "Use the first N images of the training split (default: all)");
        var testSamples = Flag.PositiveInteger("--test-samples", "Use the first N images of the test split (default: all)");
        var command = new Command("eval", "kNN (k = 20, 200) and linear-probe top-1 of a checkpoint's backbone, in this process (no cluster)")
        {
            checkpoint, init, dataset, data, trainSamples, testSamples,
        };
        command.SetAction(parsed => Run(new EvalSettings(
            parsed.GetValue(checkpoint) ?? throw parsed.Problem("--checkpoint is required"), parsed.GetValue(init), parsed.GetValue(data),
            parsed.GetValue(trainSamples), parsed.GetValue(testSamples), parsed.GetValue(dataset)), parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    /// <summary>What to evaluate: the checkpoint (or with <paramref name="Init"/> its run's initial backbone), on which data and how many samples.</summary>
    public sealed record EvalSettings(string Checkpoint, bool Init = false, string? Data = null, int? TrainSamples = null, int? TestSamples = null,
        string? Dataset = null);

    public static int Run(EvalSettings settings, TextWriter stdout, TextWriter stderr)
    {
        var clock = Stopwatch.StartNew();
        var checkpoint = CheckpointReader.Open(settings.Checkpoint);
        var spec = Grains.Runs.RunPlan.WithMethodDefaults(checkpoint.Manifest.Spec);
        bool ownDataset = settings.Dataset is null || settings.Dataset == spec.Dataset;
        if (!ownDataset && !Abstractions.Runs.RunSpecValidator.Datasets.Contains(settings.Dataset))
            throw new SpecException($"--dataset '{settings.Dataset}' is unknown; known: {string.Join(", ", Abstractions.Runs.RunSpecValidator.Datasets)}");
        if (!ownDataset && settings.Data is null && settings.Dataset != "fashion-mnist")
            throw new SpecException($"--dataset {settings.Dataset} needs --data: the folder or az://CONTAINER/PREFIX with its files");
        var data = ownDataset ? settings.Data ?? spec.Data : settings.Data;
        // A run's dataset in blob storage is read into the local blob cache (docs/checkpoints.md).
        if (Storage.StorageLocation.IsBlobText(data))
            data = new Storage.Data.BlobFolderCache(new Storage.Blobs.BlobAccount(new Storage.StorageOptions().WithEnvironment()))
                .LocalFolderAsync(data!, "data").GetAwaiter().GetResult();
        // The backbone's input stays the run's (image size and channels): another dataset is brought to it.
        var evalSpec = spec with { Dataset = settings.Dataset ?? spec.Dataset, Data = data };
        var train = DatasetCatalog.Train(evalSpec, DatasetChecks.Printer(stderr));
        var test = DatasetCatalog.Test(evalSpec, DatasetChecks.Printer(stderr));
        if (train.Classes == 0 || test.Classes == 0)
            throw new SpecException($"{(train.Classes == 0 ? train.Name : test.Name)} has no labels: kNN and the linear probe need a labelled train and test split");
        int trainSamples = Limit(settings.TrainSamples, train.Count, "--train-samples", train.Name);
        int testSamples = Limit(settings.TestSamples, test.Count, "--test-samples", test.Name);

        // Evaluation has the process to itself: every core goes to libtorch's intra-op pool.
        torch.set_num_threads(Environment.ProcessorCount);
        // The backbone is built exactly as the run's workers built it, so its names match the export and its
        // initial weights are the run's own (MethodRegistry seeds them from the spec); the heads are not needed.
        using var backbone = MethodRegistry.CreateBackbone(RunSpecOptions.Method(spec, train));
        // Scores from wrong kernels would be wrong scores: the same check a worker makes before it trains.
        var numerics = NumericsSelfCheck.Run(backbone, [spec.MicroBatch, train.Channels, train.Height, train.Width]);
        stderr.WriteLine($"sslo: numerics self-check: {numerics}; {OneDnnIsaGuard.Decision}");
        stderr.WriteLine($"sslo: evaluating {(settings.Init ? "the initial weights of " : "")}{checkpoint.ManifestPath} " +
                         $"({spec.Method}, {spec.Backbone} width {spec.Width}, step {checkpoint.Manifest.Step}) " +
                         $"on {trainSamples} train / {testSamples} test samples of {evalSpec.Dataset}, {torch.get_num_threads()} threads");
        // The online probe was trained on the run's own classes: it scores only there.
        using var onlineProbe = !settings.Init && ownDataset && checkpoint.HasOnlineProbe ? new OnlineProbe(backbone.FeatureDim, train.Classes) : null;
        if (!settings.Init)
        {
            checkpoint.LoadBackbone(backbone);
            if (onlineProbe is not null)
            {
                checkpoint.LoadOnlineProbe(onlineProbe);
                onlineProbe.eval(); // its batch norm uses the running statistics
            }
        }

        var r = BackboneEvaluation.Run(backbone, train, test, trainSamples, testSamples, spec.KnnTemperature,
            log: line => stderr.WriteLine($"sslo: {line}"), onlineProbe: onlineProbe);
        var result = new EvalResult(
            checkpoint.ManifestPath, spec.Method, spec.Backbone!, spec.Width, checkpoint.Manifest.Step, settings.Init,
            r.KnnTop1K20, r.KnnTop1K200, r.Linear.TestTop1, r.Linear.TrainTop1, r.Linear.Iterations, r.Linear.Converged,
            r.Linear.TrainLoss, r.FeatureDim, r.TrainSamples, r.TestSamples, BackboneEvaluation.ParameterNorm(backbone),
            Math.Round(clock.Elapsed.TotalSeconds, 2), r.OnlineProbeTop1);
        stdout.WriteLine(JsonSerializer.Serialize(result, JsonLines.Options));
        return 0;
    }

    private static int Limit(int? requested, int available, string flag, string split) =>
        requested is not { } n ? available
            : n <= available ? n
            : throw new SpecException($"{flag} {n}: {split} has only {available} samples");

    /// <summary>The result line; snake_case keys (knn_top1_k20, linear_top1, …), accuracies in percent.</summary>
    public sealed record EvalResult(
        string Checkpoint, string Method, string Backbone, int Width, long Step, bool Init,
        double KnnTop1K20, double KnnTop1K200, double LinearTop1, double LinearTrainTop1, int LinearIterations,
        bool LinearConverged, double LinearTrainLoss, int FeatureDim, int TrainSamples, int TestSamples,
        double ParamL2, double Seconds, double? OnlineProbeTop1);
}
