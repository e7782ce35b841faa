using Orleans.Runtime.Placement;

namespace SslOrleans.Grains.Placement;

/// <summary>
/// Makes one call carry a placement hint: if it activates the grain, the grain goes to <c>silo</c>. The hint is
/// taken into the message when the call is made, then removed, so that it flows into no later or nested call.
/// </summary>
public static class PlacementHint
{
    public static Task<T> On<T>(SiloAddress? silo, Func<Task<T>> call)
    {
        if (silo is null) return call();
        RequestContext.Set(IPlacementDirector.PlacementHintKey, silo);
        try { return call(); }
        finally { RequestContext.Remove(IPlacementDirector.PlacementHintKey); }
    }

    public static Task On(SiloAddress? silo, Func<Task> call) => On(silo, async () => { await call(); return true; });
}
