namespace SslOrleans.Core.Numerics;

/// <summary>A layer operation computed wrong results on this processor: training on it would train on garbage.</summary>
public sealed class NumericsCheckException(string message) : Exception(message);
