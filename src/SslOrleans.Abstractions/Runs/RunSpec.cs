using System.ComponentModel;

namespace SslOrleans.Abstractions.Runs;

/// <summary>
/// Everything that defines a pretraining run. Flags and YAML keys use the snake_case of these names; each property's
/// [Description] is its flag's help (sslo pretrain --help).
/// </summary>
[GenerateSerializer, Immutable, Alias("sslo.RunSpec")]
public sealed record RunSpec
{
    [Description("The run's id on the cluster (default: the last folder of out)")]
    [Id(0)] public string RunId { get; init; } = "run";
    [Description("Pretraining method: byol, simclr, barlow, rotnet, mae or beit")]
    [Id(1)] public string Method { get; init; } = "byol";
    [Description("The dataset's format: fashion-mnist, imagefolder (ROOT/CLASS/IMAGE), tar (WebDataset shards), cifar10, cifar100 or stl10")]
    [Id(2)] public string Dataset { get; init; } = "fashion-mnist";
    /// <summary>Folder or az://CONTAINER/PREFIX with the dataset files; null searches the system locations (Debian's package).</summary>
    [Description("Folder or az://CONTAINER/PREFIX with the dataset files; unset searches the system locations (Debian's package; fashion-mnist only)")]
    [Id(3)] public string? Data { get; init; }
    /// <summary>resnet18, resnet50 or vit-tiny; null = the method's default (vit-tiny for MAE and BEiT, resnet18 otherwise).</summary>
    [Description("resnet18, resnet50 or vit-tiny; unset = the method's default (vit-tiny for MAE and BEiT, resnet18 otherwise)")]
    [Id(4)] public string? Backbone { get; init; }
    [Description("Backbone width: a ResNet's first-stage channels (8 × width features for ResNet-18), a ViT's embedding / 3")]
    [Id(5)] public int Width { get; init; } = 64;
    [Description("Workers that train the run, each a replica of the model on its own micro-batches; an elastic run starts with this many")]
    [Id(6)] public int Workers { get; init; } = 2;
    [Description("Parameter shards: grains that each hold a slice of the parameters and optimizer state and apply the updates")]
    [Id(7)] public int ParameterShards { get; init; } = 2;
    [Description("Data shards: grains that hand out an epoch's micro-batches")]
    [Id(8)] public int DataShards { get; init; } = 4;
    /// <summary>Global batch B.</summary>
    [Description("Global batch B: images per optimizer step")]
    [Id(9)] public int Batch { get; init; } = 256;
    /// <summary>Micro-batch m: unit of work and of batch-norm statistics.</summary>
    [Description("Micro-batch m: unit of work and of batch-norm statistics; B must be a multiple of it")]
    [Id(10)] public int MicroBatch { get; init; } = 32;
    [Description("Budget in optimizer steps (give one of steps, epochs, minutes; none = 1 epoch)")]
    [Id(11)] public long? Steps { get; init; }
    [Description("Budget in epochs of the training split")]
    [Id(12)] public double? Epochs { get; init; }
    [Description("Budget in minutes of training")]
    [Id(13)] public double? Minutes { get; init; }
    [Description("Seed of the initial weights, the data order and the augmentations")]
    [Id(14)] public long Seed { get; init; }
    /// <summary>Where this run's checkpoints go: a folder or az://CONTAINER/PREFIX.</summary>
    [Description("Where this run's checkpoints go: a folder or az://CONTAINER/PREFIX (default runs/METHOD-DATASET-seedSEED)")]
    [Id(15)] public string Out { get; init; } = "runs/run";
    /// <summary>lars, sgd or adamw; null = the method's recipe (like <see cref="Lr"/>, <see cref="WeightDecay"/>, <see cref="Nesterov"/>).</summary>
    [Description("lars, sgd or adamw; unset = the method's recipe (like lr, weight_decay, nesterov)")]
    [Id(16)] public string? Optimizer { get; init; }
    /// <summary>Learning rate at batch 256; scaled linearly with <see cref="Batch"/>. Null = the method's recipe.</summary>
    [Description("Learning rate at batch 256, scaled linearly with batch; unset = the method's recipe")]
    [Id(17)] public double? Lr { get; init; }
    [Description("Weight decay; unset = the method's recipe")]
    [Id(18)] public double? WeightDecay { get; init; }
    [Description("Momentum of LARS and SGD")]
    [Id(19)] public double Momentum { get; init; } = 0.9;
    [Description("Share of the planned steps with a linear learning-rate warm-up, before the cosine decay")]
    [Id(20)] public double WarmupFraction { get; init; } = 0.1;
    [Description("BYOL: the target network's EMA rate at the first step (it rises to 1 along a cosine)")]
    [Id(21)] public double TauBase { get; init; } = 0.99;
    /// <summary>Hidden width of the heads; 0 = the method's default (BYOL 64 × width, SimCLR and Barlow Twins 32 × width).</summary>
    [Description("Hidden width of the heads; 0 = the method's default (BYOL 64 × width, SimCLR and Barlow Twins 32 × width)")]
    [Id(22)] public int HiddenDim { get; init; }
    /// <summary>Embedding width; 0 = the method's default (BYOL 256, SimCLR 4 × width, Barlow Twins the hidden width).</summary>
    [Description("Embedding width; 0 = the method's default (BYOL 256, SimCLR 4 × width, Barlow Twins the hidden width)")]
    [Id(23)] public int ProjectionDim { get; init; }
    /// <summary>Checkpoint every n steps (0: none by step count; see <see cref="CheckpointMinutes"/>). A run always checkpoints at its end or stop.</summary>
    [Description("Checkpoint every n steps (0: none by step count; see checkpoint_minutes); a run always checkpoints at its end or stop")]
    [Id(24)] public long CheckpointEvery { get; init; }
    /// <summary>Intra-op threads of each worker; 0 = the silo's cores divided among its workers.</summary>
    [Description("Intra-op threads of each worker; 0 = the silo's cores divided among its workers")]
    [Id(25)] public int ThreadsPerWorker { get; init; }
    [Description("At the end, score the backbone (kNN of the trained and the initial one, the online probe) on the test split")]
    [Id(26)] public bool Evaluate { get; init; } = true;
    [Description("Neighbours of the end-of-run kNN evaluation")]
    [Id(27)] public int KnnK { get; init; } = 200;
    [Description("Temperature of the kNN evaluation's weighted vote")]
    [Id(28)] public double KnnTemperature { get; init; } = 0.1;
    /// <summary>Largest tensor payload of one grain message.</summary>
    [Description("Largest tensor payload of one grain message, in bytes")]
    [Id(29)] public int ChunkBytes { get; init; } = 16 << 20;
    /// <summary>Continue from the latest checkpoint in <see cref="Out"/>.</summary>
    [Description("Continue from the latest checkpoint in out")]
    [Id(30)] public bool Resume { get; init; }
    /// <summary>Stop (with a checkpoint, resumable) after this many steps of this invocation.</summary>
    [Description("Stop (with a checkpoint, resumable) after this many steps of this invocation")]
    [Id(31)] public long? StopAfter { get; init; }
    [Description("LARS trust coefficient")]
    [Id(32)] public double LarsEta { get; init; } = 0.02;
    /// <summary>After every step, compare a digest of every worker's parameters and buffers; a mismatch fails the run.</summary>
    [Description("After every step, compare a digest of every worker's parameters and buffers; a mismatch fails the run")]
    [Id(33)] public bool CheckReplicas { get; init; }
    /// <summary>SGD with Nesterov momentum; null = the method's recipe.</summary>
    [Description("SGD with Nesterov momentum; unset = the method's recipe")]
    [Id(34)] public bool? Nesterov { get; init; }
    [Description("AdamW's β1")]
    [Id(35)] public double AdamBeta1 { get; init; } = 0.9;
    /// <summary>AdamW's β2; null = the method's recipe (MAE 0.95, otherwise 0.999).</summary>
    [Description("AdamW's β2; unset = the method's recipe (MAE 0.95, otherwise 0.999)")]
    [Id(36)] public double? AdamBeta2 { get; init; }
    /// <summary>NT-Xent temperature (SimCLR).</summary>
    [Description("NT-Xent temperature (SimCLR)")]
    [Id(37)] public double Temperature { get; init; } = 0.2;
    /// <summary>Weight of the off-diagonal terms (Barlow Twins).</summary>
    [Description("Weight of the off-diagonal terms (Barlow Twins)")]
    [Id(38)] public double BarlowLambda { get; init; } = 0.0051;
    /// <summary>Factor on the whole Barlow Twins loss (solo-learn's scale_loss; 0.1 on CIFAR).</summary>
    [Description("Factor on the whole Barlow Twins loss (solo-learn's scale_loss; 0.1 on CIFAR)")]
    [Id(39)] public double BarlowScale { get; init; } = 0.1;
    /// <summary>Learning rate of the online linear probe (SGD, momentum 0.9, no decay), following the run's schedule.</summary>
    [Description("Learning rate of the online linear probe (SGD, momentum 0.9, no decay), following the run's schedule")]
    [Id(40)] public double ProbeLr { get; init; } = 0.1;
    /// <summary>ResNet stem: cifar (3×3, stride 1, no max-pool) or imagenet (7×7 stride 2 + max-pool); null = by image
    /// size (cifar up to 64 px, imagenet above).</summary>
    [Description("ResNet stem: cifar (3×3, stride 1, no max-pool) or imagenet (7×7 stride 2 + max-pool); unset = cifar up to 64 px, imagenet above")]
    [Id(41)] public string? Stem { get; init; }
    /// <summary>ViT patch size; must divide the image side.</summary>
    [Description("ViT patch size; must divide the image side")]
    [Id(42)] public int PatchSize { get; init; } = 4;
    /// <summary>Share of patches masked per image (MAE, BEiT); null = the method's default (MAE 0.75, BEiT 0.4).</summary>
    [Description("Share of patches masked per image (MAE, BEiT); unset = the method's default (MAE 0.75, BEiT 0.4)")]
    [Id(43)] public double? MaskRatio { get; init; }
    /// <summary>MAE: standardise each target patch by its own mean and variance (the paper's norm_pix_loss).</summary>
    [Description("MAE: standardise each target patch by its own mean and variance (the paper's norm_pix_loss)")]
    [Id(44)] public bool NormPixLoss { get; init; }
    /// <summary>MAE's decoder width; 0 = 4 × width. A multiple of 16 (one attention head per 16 channels).</summary>
    [Description("MAE's decoder width; 0 = 4 × width. A multiple of 16 (one attention head per 16 channels)")]
    [Id(45)] public int DecoderDim { get; init; }
    /// <summary>MAE's decoder blocks.</summary>
    [Description("MAE's decoder blocks")]
    [Id(46)] public int DecoderDepth { get; init; } = 2;
    /// <summary>BEiT: folder of the image tokenizer made by `sslo tokenizer train`.</summary>
    [Description("BEiT: folder (or az://CONTAINER/PREFIX) of the image tokenizer made by `sslo tokenizer train`")]
    [Id(47)] public string? Tokenizer { get; init; }
    /// <summary>How workers send gradient sums to the shards: float64 (exact, grouping-invariant), float32 or bfloat16 (fewer bytes, rounded once per worker).</summary>
    [Description("How workers send gradient sums to the shards: float64 (exact, grouping-invariant), float32 or bfloat16 (fewer bytes, rounded once per worker)")]
    [Id(48)] public string GradientDtype { get; init; } = "float64";
    /// <summary>Checkpoint after this many minutes of training since the last one (0: none by time), so that no run loses more.</summary>
    [Description("Checkpoint after this many minutes of training since the last one (0: none by time), so that no run loses more")]
    [Id(49)] public double CheckpointMinutes { get; init; } = 10;
    /// <summary>Complete checkpoints kept; older ones are deleted (never the one 'latest' names).</summary>
    [Description("Complete checkpoints kept; older ones are deleted (never the one 'latest' names)")]
    [Id(50)] public int KeepLast { get; init; } = 3;
    /// <summary>Elastic runs: the fewest workers a step may run with (unset: 1). With fewer, the run waits at the step
    /// boundary for silos with free device slots.</summary>
    [Description("Elastic runs: the fewest workers a step may run with (unset: 1); with fewer, the run waits at the step boundary for silos with free device slots")]
    [Id(51)] public int? MinWorkers { get; init; }
    /// <summary>Elastic runs: the most workers (unset: workers). Silos with free device slots that join the cluster
    /// are taken at the next step boundary up to this many; workers starts the run.</summary>
    [Description("Elastic runs: the most workers (unset: workers); silos with free device slots that join are taken at the next step boundary up to this many")]
    [Id(52)] public int? MaxWorkers { get; init; }
    /// <summary>Seconds a worker's share of a step may take before the worker counts as lost and its micro-batches
    /// are redone by the others (0: ten times the slowest recent step, at least 60 s).</summary>
    [Description("Seconds a worker's share of a step may take before the worker counts as lost and its micro-batches are redone by the others (0: ten times the slowest recent step, at least 60 s)")]
    [Id(53)] public double StepDeadlineSeconds { get; init; }
    /// <summary>Parameter shards copy their state to a mirror on another silo after every apply, so that a lost shard
    /// costs no step (false: a lost shard sends the run back to its checkpoint; saves one copy of the state per step).</summary>
    [Description("Parameter shards copy their state to a mirror on another silo after every apply, so that a lost shard costs no step (false: a lost shard sends the run back to its checkpoint)")]
    [Id(54)] public bool MirrorShards { get; init; } = true;

    /// <summary>The side images are resized to (shorter side, then centre crop); 0 = the dataset's own.</summary>
    [Description("Side in pixels that images are resized to (shorter side, then centre crop); 0 = the dataset's own: 28 Fashion-MNIST, 32 CIFAR, 96 STL-10, 64 image folders and tar shards")]
    [Id(55)] public int ImageSize { get; init; }
    /// <summary>Image channels: 1 (luma) or 3 (RGB); 0 = the dataset's own.</summary>
    [Description("Image channels: 1 (grey, luma) or 3 (RGB); 0 = the dataset's own: 1 Fashion-MNIST, 3 the others")]
    [Id(56)] public int Channels { get; init; }
    /// <summary>What a sample that cannot be decoded does: fail (the run is refused before training, naming it) or skip it.</summary>
    [Description("What a sample that cannot be decoded does: fail (the run is refused before training starts, naming the file) or skip (left out of every epoch; `sslo pretrain` and `sslo data inspect` name them)")]
    [Id(57)] public string BadSamples { get; init; } = "fail";

    public int MinWorkersOrDefault => MinWorkers ?? 1;
    public int MaxWorkersOrDefault => MaxWorkers ?? Workers;
}
