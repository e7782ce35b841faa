namespace SslOrleans.Core.Training;

/// <summary>A replica's state as flat vectors in layout order: parameters, float buffers, EMA target.</summary>
public sealed record FlatState(float[] Parameters, float[] Buffers, float[] Target)
{
    public static FlatState For(ModelLayout layout) =>
        new(new float[layout.ParameterCount], new float[layout.BufferCount], new float[layout.TargetCount]);
}
