using SslOrleans.Abstractions.Workers;

namespace SslOrleans.Grains.Tests.Elastic;

/// <summary>
/// An incoming grain call filter on every silo of <see cref="ElasticCluster"/>: once armed for one worker, it holds
/// that worker's next <c>RunStepAsync</c> before it computes, and says so, so that a test kills the worker's silo
/// while the step is in flight for certain, instead of hoping a kill falls inside a step.
/// </summary>
public sealed class StepGate
{
    private readonly object gate = new();
    private string? worker;
    private TaskCompletionSource<long> entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Holds the next step of worker grain <paramref name="workerKey"/>; the task ends with that step's number.</summary>
    public Task<long> Arm(string workerKey)
    {
        lock (gate)
        {
            worker = workerKey;
            entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
            return entered.Task;
        }
    }

    public async Task OnIncomingAsync(IIncomingGrainCallContext context)
    {
        if (context.Request.GetArgumentCount() == 1 && context.Request.GetArgument(0) is StepWork work && context.TargetId.Key.ToString() == Armed(out var tcs))
        {
            tcs!.TrySetResult(work.Step);
            // The silo is killed meanwhile; the call never completes on this side.
            await Task.Delay(TimeSpan.FromMinutes(2));
        }
        await context.Invoke();
    }

    private string? Armed(out TaskCompletionSource<long>? tcs)
    {
        lock (gate)
        {
            tcs = entered;
            return worker;
        }
    }
}
