namespace SslOrleans.Abstractions.Workers;

/// <summary>A tensor's place in the flat parameter or buffer vector.</summary>
[GenerateSerializer, Immutable, Alias("sslo.TensorInfo")]
public sealed record TensorInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] long Offset,
    [property: Id(2)] long Length,
    [property: Id(3)] bool Excluded,
    [property: Id(4)] bool HasTarget,
    /// <summary>A parameter of the online linear probe, trained by the probe's own optimizer.</summary>
    [property: Id(5)] bool Probe = false);

/// <summary>The flat layout of a method's state, as the first worker reports it.</summary>
[GenerateSerializer, Immutable, Alias("sslo.ModelLayoutInfo")]
public sealed record ModelLayoutInfo(
    [property: Id(0)] TensorInfo[] Parameters,
    [property: Id(1)] TensorInfo[] Buffers,
    [property: Id(2)] long ParameterCount,
    [property: Id(3)] long BufferCount,
    [property: Id(4)] long TargetCount);
