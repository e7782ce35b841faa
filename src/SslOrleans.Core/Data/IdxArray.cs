namespace SslOrleans.Core.Data;

/// <summary>
/// The contents of an unsigned-byte idx file (type code 0x08): its dimensions, outermost first, and the
/// elements in row-major order. Only the byte type is supported because every dataset we load (MNIST,
/// Fashion-MNIST) stores images and labels as bytes; other types are rejected with a clear error.
/// </summary>
public sealed record IdxArray(int[] Dimensions, byte[] Data);
