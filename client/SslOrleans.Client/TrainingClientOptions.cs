using System.Globalization;
using Microsoft.Extensions.Configuration;
using Orleans.Configuration;

namespace SslOrleans.Client;

/// <summary>
/// What a client of a training cluster must agree on with its silos: how long a call may take and the largest
/// message body. Read from section "SslTraining" as the silos read it, so <c>SslTraining__MaxMessageBodySize</c> in
/// the environment raises the limit on both sides.
/// </summary>
public sealed class TrainingClientOptions
{
    public const string Section = "SslTraining";

    /// <summary>How long one grain call may take (a worker's share of a step, a feature block).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromMinutes(30);
    /// <summary>Orleans' message body limit; tensor payloads are chunked well below it.</summary>
    public int MaxMessageBodySize { get; set; } = 100 * 1024 * 1024;

    public void Validate()
    {
        if (ResponseTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ResponseTimeout), ResponseTimeout, "must be positive");
        if (MaxMessageBodySize < 1 << 20) throw new ArgumentOutOfRangeException(nameof(MaxMessageBodySize), MaxMessageBodySize, "must be at least 1 MiB");
    }

    /// <summary>The options with what section "SslTraining" of <paramref name="configuration"/> sets; a value that does
    /// not parse is an <see cref="ArgumentException"/> naming the key.</summary>
    public static TrainingClientOptions From(IConfiguration configuration)
    {
        var options = new TrainingClientOptions();
        var section = configuration.GetSection(Section);
        if (section[nameof(MaxMessageBodySize)] is { } size)
            options.MaxMessageBodySize = int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 << 20 ? n
                : throw new ArgumentException($"{Section}:{nameof(MaxMessageBodySize)}: '{size}' must be a whole number of bytes from {1 << 20} (1 MiB) to {int.MaxValue}");
        if (section[nameof(ResponseTimeout)] is { } timeout)
            options.ResponseTimeout = TimeSpan.TryParse(timeout, CultureInfo.InvariantCulture, out var t) && t >= TimeSpan.FromSeconds(1) ? t
                : throw new ArgumentException($"{Section}:{nameof(ResponseTimeout)}: '{timeout}' must be a duration hh:mm:ss of at least one second");
        return options;
    }
}

public static class TrainingClientBuilderExtensions
{
    /// <summary>The messaging limits a training cluster's client needs (see <see cref="TrainingClientOptions"/>).</summary>
    public static IClientBuilder AddTrainingClient(this IClientBuilder client, TrainingClientOptions? options = null)
    {
        options ??= new TrainingClientOptions();
        options.Validate();
        client.Configure<ClientMessagingOptions>(o =>
        {
            o.ResponseTimeout = options.ResponseTimeout;
            o.MaxMessageBodySize = options.MaxMessageBodySize;
        });
        return client;
    }
}
