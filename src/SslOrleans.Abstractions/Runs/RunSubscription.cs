namespace SslOrleans.Abstractions.Runs;

/// <summary>The terms of a run's subscriptions (<see cref="IRunGrain.SubscribeAsync"/>).</summary>
public static class RunSubscription
{
    /// <summary>How long a subscription lives without being renewed; a watcher renews it well within.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
}
