namespace SslOrleans.Core.Data.Images;

/// <summary>A sample that would not decode: its index, its <see cref="ISampleReader.Describe"/> and why.</summary>
public sealed record DatasetBadSample(int Index, string Sample, string Reason);
