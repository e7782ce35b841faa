namespace SslOrleans.Abstractions.Runs;

/// <summary>
/// Checks a spec and names the key of every bad value. The names of methods and backbones live in their
/// registries (the core library, which this assembly must not see): the silo passes them in as
/// <paramref name="catalog"/>; without it (a client) those two keys are checked by the silo on submission.
/// </summary>
public static class RunSpecValidator
{
    public static readonly string[] Datasets = ["fashion-mnist", "imagefolder", "tar", "cifar10", "cifar100", "stl10"];
    public static readonly string[] Optimizers = ["lars", "sgd", "adamw"];
    public static readonly string[] Stems = ["cifar", "imagenet"];

    public static IReadOnlyList<string> Errors(RunSpec s, SpecCatalog? catalog = null)
    {
        var e = new List<string>();
        void Require(bool ok, string key, object? value, string rule) { if (!ok) e.Add($"{key}: {value ?? "null"} is invalid: {rule}"); }
        Require(!string.IsNullOrWhiteSpace(s.RunId) && s.RunId.IndexOfAny(['/', '\\', ':']) < 0, "run_id", s.RunId, "a non-empty name without / \\ :");
        Require(!string.IsNullOrWhiteSpace(s.Method) && (catalog is null || catalog.Methods.Contains(s.Method)), "method", s.Method, "one of " + string.Join(", ", catalog?.Methods ?? ["the silo's methods"]));
        Require(Datasets.Contains(s.Dataset), "dataset", s.Dataset, "one of " + string.Join(", ", Datasets));
        Require(s.Backbone is null || (!string.IsNullOrWhiteSpace(s.Backbone) && (catalog is null || catalog.Backbones.Contains(s.Backbone))), "backbone", s.Backbone,
            "one of " + string.Join(", ", catalog?.Backbones ?? ["the silo's backbones"]) + " (or unset: the method's default)");
        Require(s.Optimizer is null || Optimizers.Contains(s.Optimizer), "optimizer", s.Optimizer, "one of " + string.Join(", ", Optimizers) + " (or unset: the method's recipe)");
        Require(s.Stem is null || Stems.Contains(s.Stem), "stem", s.Stem, "one of " + string.Join(", ", Stems) + " (or unset: by image size)");
        Require(s.ImageSize is 0 or (>= 8 and <= 1024), "image_size", s.ImageSize, "between 8 and 1024 (0 = the dataset's own)");
        Require(s.Channels is 0 or 1 or 3, "channels", s.Channels, "1, 3 or 0 (the dataset's own)");
        Require(s.BadSamples is "fail" or "skip", "bad_samples", s.BadSamples, "fail or skip");
        Require(s.Data is not null || s.Dataset is "fashion-mnist" || !Datasets.Contains(s.Dataset), "data", s.Data, $"the folder or az://CONTAINER/PREFIX of the {s.Dataset} dataset; only fashion-mnist has a system location");
        Require(s.PatchSize >= 1, "patch_size", s.PatchSize, "at least 1");
        Require(s.Width is >= 1 and <= 1024, "width", s.Width, "between 1 and 1024");
        Require(s.Workers is >= 1 and <= 1024, "workers", s.Workers, "between 1 and 1024");
        Require(s.ParameterShards is >= 1 and <= 256, "parameter_shards", s.ParameterShards, "between 1 and 256");
        Require(s.DataShards is >= 1 and <= 4096, "data_shards", s.DataShards, "between 1 and 4096");
        Require(s.MicroBatch >= 2, "micro_batch", s.MicroBatch, "at least 2 (batch norm needs two samples)");
        Require(s.Batch >= 2 && s.MicroBatch > 0 && s.Batch % s.MicroBatch == 0, "batch", s.Batch, $"a multiple of micro_batch ({s.MicroBatch})");
        Require(s.MicroBatch <= 0 || s.Batch / Math.Max(1, s.MicroBatch) >= s.Workers, "workers", s.Workers, $"at most batch / micro_batch = {s.Batch / Math.Max(1, s.MicroBatch)} so that every worker gets a micro-batch");
        Require(s.MinWorkers is null || (s.MinWorkers >= 1 && s.MinWorkers <= s.Workers), "min_workers", s.MinWorkers, $"between 1 and workers ({s.Workers})");
        Require(s.MaxWorkers is null || (s.MaxWorkers >= s.Workers && s.MaxWorkers <= 1024), "max_workers", s.MaxWorkers, $"between workers ({s.Workers}) and 1024");
        Require(s.MicroBatch <= 0 || s.Batch / Math.Max(1, s.MicroBatch) >= s.MaxWorkersOrDefault, "max_workers", s.MaxWorkersOrDefault,
            $"at most batch / micro_batch = {s.Batch / Math.Max(1, s.MicroBatch)} so that every worker gets a micro-batch");
        Require(s.StepDeadlineSeconds >= 0 && double.IsFinite(s.StepDeadlineSeconds), "step_deadline_seconds", s.StepDeadlineSeconds, "at least 0 (0: from the measured steps)");
        int budgets = (s.Steps is null ? 0 : 1) + (s.Epochs is null ? 0 : 1) + (s.Minutes is null ? 0 : 1);
        Require(budgets <= 1, "steps", s.Steps, "give only one of steps, epochs, minutes");
        Require(s.Steps is null or >= 1, "steps", s.Steps, "at least 1");
        Require(s.Epochs is null or > 0, "epochs", s.Epochs, "greater than 0");
        Require(s.Minutes is null or > 0, "minutes", s.Minutes, "greater than 0");
        Require(!string.IsNullOrWhiteSpace(s.Out), "out", s.Out, "a folder or az://CONTAINER/PREFIX");
        Require(s.Lr is null or > 0, "lr", s.Lr, "greater than 0");
        Require(s.WeightDecay is null or >= 0, "weight_decay", s.WeightDecay, "at least 0");
        Require(s.Momentum is >= 0 and < 1, "momentum", s.Momentum, "in [0, 1)");
        Require(s.WarmupFraction is >= 0 and < 1, "warmup_fraction", s.WarmupFraction, "in [0, 1)");
        Require(s.TauBase is >= 0 and <= 1, "tau_base", s.TauBase, "in [0, 1]");
        Require(s.HiddenDim >= 0, "hidden_dim", s.HiddenDim, "at least 0 (0 = the method's default)");
        Require(s.ProjectionDim >= 0, "projection_dim", s.ProjectionDim, "at least 0 (0 = the method's default)");
        Require(s.AdamBeta1 is >= 0 and < 1, "adam_beta1", s.AdamBeta1, "in [0, 1)");
        Require(s.AdamBeta2 is null or (>= 0 and < 1), "adam_beta2", s.AdamBeta2, "in [0, 1) (or unset: the method's recipe)");
        Require(s.MaskRatio is null or (> 0 and < 1), "mask_ratio", s.MaskRatio, "in (0, 1) (or unset: the method's default)");
        Require(s.DecoderDim >= 0 && s.DecoderDim % 16 == 0, "decoder_dim", s.DecoderDim, "a multiple of 16 (0 = 4 × width)");
        Require(s.DecoderDepth >= 1, "decoder_depth", s.DecoderDepth, "at least 1");
        Require(s.Tokenizer is null || !string.IsNullOrWhiteSpace(s.Tokenizer), "tokenizer", s.Tokenizer, "a tokenizer folder (or az://CONTAINER/PREFIX) made by `sslo tokenizer train`");
        Require(s.Temperature > 0 && double.IsFinite(s.Temperature), "temperature", s.Temperature, "greater than 0");
        Require(s.BarlowLambda >= 0 && double.IsFinite(s.BarlowLambda), "barlow_lambda", s.BarlowLambda, "at least 0");
        Require(s.BarlowScale > 0 && double.IsFinite(s.BarlowScale), "barlow_scale", s.BarlowScale, "greater than 0");
        Require(s.ProbeLr > 0, "probe_lr", s.ProbeLr, "greater than 0");
        Require(s.CheckpointEvery >= 0, "checkpoint_every", s.CheckpointEvery, "at least 0");
        Require(s.CheckpointMinutes >= 0 && double.IsFinite(s.CheckpointMinutes), "checkpoint_minutes", s.CheckpointMinutes, "at least 0 (0: no timed checkpoints)");
        Require(s.KeepLast >= 1, "keep_last", s.KeepLast, "at least 1");
        Require(s.ThreadsPerWorker >= 0, "threads_per_worker", s.ThreadsPerWorker, "at least 0 (0 = automatic)");
        Require(s.KnnK >= 1, "knn_k", s.KnnK, "at least 1");
        Require(s.KnnTemperature > 0, "knn_temperature", s.KnnTemperature, "greater than 0");
        Require(s.ChunkBytes is >= 1024 and <= 1 << 30, "chunk_bytes", s.ChunkBytes, "between 1024 and 1073741824 (1 GiB)");
        Require(s.GradientDtype is "float64" or "float32" or "bfloat16", "gradient_dtype", s.GradientDtype, "float64, float32 or bfloat16");
        Require(s.StopAfter is null or >= 1, "stop_after", s.StopAfter, "at least 1");
        Require(s.LarsEta > 0, "lars_eta", s.LarsEta, "greater than 0");
        return e;
    }

    public static void ThrowIfInvalid(RunSpec s, SpecCatalog? catalog = null)
    {
        var errors = Errors(s, catalog);
        if (errors.Count > 0) throw new ArgumentException("invalid run spec: " + string.Join("; ", errors));
    }
}

/// <summary>The method and backbone names a silo can build.</summary>
public sealed record SpecCatalog(IReadOnlyCollection<string> Methods, IReadOnlyCollection<string> Backbones);
