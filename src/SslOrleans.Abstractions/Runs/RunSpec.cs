namespace SslOrleans.Abstractions.Runs;

/// <summary>Everything that defines a pretraining run. Flags and YAML keys use the snake_case of these names.</summary>
[GenerateSerializer, Immutable, Alias("sslo.RunSpec")]
public sealed record RunSpec
{
    [Id(0)] public string RunId { get; init; } = "run";
    [Id(1)] public string Method { get; init; } = "byol";
    [Id(2)] public string Dataset { get; init; } = "fashion-mnist";
    /// <summary>Folder with the dataset files; null searches the system locations (Debian's package).</summary>
    [Id(3)] public string? Data { get; init; }
    [Id(4)] public string Backbone { get; init; } = "resnet18";
    [Id(5)] public int Width { get; init; } = 64;
    [Id(6)] public int Workers { get; init; } = 2;
    [Id(7)] public int ParameterShards { get; init; } = 2;
    [Id(8)] public int DataShards { get; init; } = 4;
    /// <summary>Global batch B.</summary>
    [Id(9)] public int Batch { get; init; } = 256;
    /// <summary>Micro-batch m: unit of work and of batch-norm statistics.</summary>
    [Id(10)] public int MicroBatch { get; init; } = 32;
    [Id(11)] public long? Steps { get; init; }
    [Id(12)] public double? Epochs { get; init; }
    [Id(13)] public double? Minutes { get; init; }
    [Id(14)] public long Seed { get; init; }
    /// <summary>Checkpoint folder of this run.</summary>
    [Id(15)] public string Out { get; init; } = "runs/run";
    [Id(16)] public string Optimizer { get; init; } = "lars";
    /// <summary>Learning rate at batch 256; scaled linearly with <see cref="Batch"/>.</summary>
    [Id(17)] public double Lr { get; init; } = 1.0;
    [Id(18)] public double WeightDecay { get; init; } = 1e-5;
    [Id(19)] public double Momentum { get; init; } = 0.9;
    [Id(20)] public double WarmupFraction { get; init; } = 0.1;
    [Id(21)] public double TauBase { get; init; } = 0.99;
    /// <summary>Hidden width of the projector and predictor; 0 = 64 × width.</summary>
    [Id(22)] public int HiddenDim { get; init; }
    [Id(23)] public int ProjectionDim { get; init; } = 256;
    /// <summary>Checkpoint every n steps (0: only at the end or on stop).</summary>
    [Id(24)] public long CheckpointEvery { get; init; }
    /// <summary>Intra-op threads of each worker; 0 = the silo's cores divided among its workers.</summary>
    [Id(25)] public int ThreadsPerWorker { get; init; }
    [Id(26)] public bool Evaluate { get; init; } = true;
    [Id(27)] public int KnnK { get; init; } = 200;
    [Id(28)] public double KnnTemperature { get; init; } = 0.1;
    /// <summary>Largest tensor payload of one grain message.</summary>
    [Id(29)] public int ChunkBytes { get; init; } = 16 << 20;
    /// <summary>Continue from the latest checkpoint in <see cref="Out"/>.</summary>
    [Id(30)] public bool Resume { get; init; }
    /// <summary>Stop (with a checkpoint, resumable) after this many steps of this invocation.</summary>
    [Id(31)] public long? StopAfter { get; init; }
    [Id(32)] public double LarsEta { get; init; } = 0.02;
    /// <summary>After every step, compare a digest of every worker's parameters and buffers; a mismatch fails the run.</summary>
    [Id(33)] public bool CheckReplicas { get; init; }
}
