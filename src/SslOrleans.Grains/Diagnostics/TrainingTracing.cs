using System.Diagnostics;

namespace SslOrleans.Grains.Diagnostics;

/// <summary>
/// The project's activity source: one trace per step. The coordinator's <c>sslo.step</c> span holds its phases
/// (<c>sslo.sample</c>, <c>sslo.embed</c>, <c>sslo.apply</c>, <c>sslo.pull</c>) and, from the workers,
/// <c>sslo.compute</c> and <c>sslo.push</c>; the checkpoint taken after a step is its <c>sslo.checkpoint</c> child.
/// With no listener (no tracer provider, or one without this source) every Start returns null and costs nothing.
/// </summary>
public static class TrainingTracing
{
    public const string SourceName = "SslOrleans.Training";
    public static readonly ActivitySource Source = new(SourceName, "1.0");

    /// <summary>The RequestContext key the step's span travels under to the workers: W3C's, the one Orleans' own
    /// activity propagation uses too, so that both agree when an operator turns that on.</summary>
    public const string TraceParentKey = "traceparent";

    /// <summary>A step's span, the root of its own trace (a run lasts hours; a trace per step stays small), carried
    /// to the grains the step calls.</summary>
    public static Activity? StartStep(string runId, string method, long step)
    {
        if (!Source.HasListeners()) return null;
        // Not a child of whatever call started the run loop.
        Activity.Current = null;
        var activity = Source.StartActivity("sslo.step", ActivityKind.Internal);
        if (activity is null) return null;
        activity.SetTag("sslo.run", runId);
        activity.SetTag("sslo.method", method);
        activity.SetTag("sslo.step", step);
        // Copy-on-write and async-local: the key lives as long as this step's calls.
        if (activity.Id is { } id) RequestContext.Set(TraceParentKey, id);
        return activity;
    }

    /// <summary>A phase of the step in progress (a child of <see cref="Activity.Current"/>).</summary>
    public static Activity? StartPhase(string name) => Source.HasListeners() ? Source.StartActivity(name, ActivityKind.Internal) : null;

    /// <summary>A span of a grain called by the step: a child of the step's span as it came in the call's
    /// RequestContext (or of Orleans' own server span, when Orleans' activity propagation made one).</summary>
    public static Activity? StartInCall(string name, string runId)
    {
        if (!Source.HasListeners()) return null;
        Activity? activity;
        if (Activity.Current is null && RequestContext.Get(TraceParentKey) is string parent
            && ActivityContext.TryParse(parent, null, isRemote: true, out var context))
            activity = Source.StartActivity(name, ActivityKind.Internal, context);
        else
            activity = Source.StartActivity(name, ActivityKind.Internal);
        activity?.SetTag("sslo.run", runId);
        return activity;
    }

    /// <summary>A checkpoint's span, a child of the step whose state it saves; it ends at the commit, after the step.</summary>
    public static Activity? StartCheckpoint(string runId, long step, ActivityContext stepContext)
    {
        if (!Source.HasListeners()) return null;
        var activity = Source.StartActivity("sslo.checkpoint", ActivityKind.Internal, stepContext);
        activity?.SetTag("sslo.run", runId);
        activity?.SetTag("sslo.step", step);
        return activity;
    }

    /// <summary>Marks the span failed with the exception's type and message (OpenTelemetry's exception conventions).</summary>
    public static void Fail(Activity? activity, Exception e)
    {
        if (activity is null) return;
        activity.SetStatus(ActivityStatusCode.Error, e.Message);
        activity.SetTag("error.type", e.GetType().FullName);
    }
}
