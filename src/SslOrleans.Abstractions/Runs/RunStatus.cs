namespace SslOrleans.Abstractions.Runs;

[GenerateSerializer, Immutable, Alias("sslo.RunStatus")]
public sealed record RunStatus(
    [property: Id(0)] string RunId,
    [property: Id(1)] RunState State,
    [property: Id(2)] long Step,
    [property: Id(3)] long PlannedSteps,
    [property: Id(4)] string Phase,
    [property: Id(5)] StepProgress? Last,
    [property: Id(6)] string? Error,
    [property: Id(7)] RunResult? Result)
{
    public bool IsFinished => State is RunState.Completed or RunState.Failed or RunState.Stopped;
}
