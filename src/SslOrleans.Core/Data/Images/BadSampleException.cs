namespace SslOrleans.Core.Data.Images;

/// <summary>A sample that cannot be read or decoded: a corrupt or truncated image, a file that is no image, a broken tar member.</summary>
public sealed class BadSampleException(string sample, string reason, Exception? inner = null)
    : Exception($"{sample}: {reason}", inner)
{
    /// <summary>The sample's <see cref="ISampleReader.Describe"/>.</summary>
    public string Sample { get; } = sample;

    public string Reason { get; } = reason;
}
