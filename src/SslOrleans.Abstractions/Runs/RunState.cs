namespace SslOrleans.Abstractions.Runs;

[GenerateSerializer, Alias("sslo.RunState")]
public enum RunState { Pending, Running, Evaluating, Completed, Failed, Stopped }
