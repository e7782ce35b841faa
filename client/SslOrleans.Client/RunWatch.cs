using System.Threading.Channels;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Client;

/// <summary>
/// The client side of a run's subscription (<see cref="IRunObserver"/>): what the run pushes lands in a channel the
/// watch loop reads. Pushes are one-way, so one may be lost with a silo or arrive out of order: the loop fills any
/// gap in the steps from the run's progress list, and renews the subscription (which also finds a coordinator that
/// moved to another silo) well within its lifetime.
/// </summary>
internal sealed class RunWatch : IRunObserver
{
    private readonly Channel<object> pushed = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });

    public ChannelReader<object> Pushed => pushed.Reader;

    public void OnStep(StepProgress step) => pushed.Writer.TryWrite(step);

    public void OnStatus(RunStatus status) => pushed.Writer.TryWrite(status);

    /// <summary>How often the subscription is renewed and the run asked directly: a third of its lifetime, at most 10 s,
    /// so a watcher finds a coordinator that moved to another silo within seconds.</summary>
    public static TimeSpan RenewEvery { get; set; } =
        TimeSpan.FromTicks(Math.Min(RunSubscription.Lifetime.Ticks / 3, TimeSpan.FromSeconds(10).Ticks));
}
