namespace SslOrleans.Storage.Checkpoints;

/// <summary>A file of a checkpoint as the manifest lists it ("name", "sha256", "bytes").</summary>
public sealed record StoredFile(string Name, string Sha256, long Bytes);

/// <summary>Another writer committed the same checkpoint first: its manifest exists.</summary>
public sealed class CheckpointConflictException(string message, Exception? inner = null) : IOException(message, inner);
