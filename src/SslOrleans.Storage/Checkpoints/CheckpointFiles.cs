using System.Security.Cryptography;

namespace SslOrleans.Storage.Checkpoints;

/// <summary>Reading a stored file while computing its sha256: the one pass every reader of checkpoints and cached blobs uses.</summary>
public static class CheckpointFiles
{
    /// <summary>Reads <paramref name="source"/> to its end, copying it to <paramref name="copy"/> when given; returns its sha256 and length.</summary>
    public static async Task<(string Sha256, long Bytes)> HashAsync(Stream source, Stream? copy, CancellationToken cancellation = default)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = await source.ReadAsync(buffer, cancellation)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            if (copy is not null) await copy.WriteAsync(buffer.AsMemory(0, n), cancellation);
            total += n;
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), total);
    }

    /// <summary>A checkpoint file, whole, after its size and sha256 matched <paramref name="expected"/>; an
    /// <see cref="InvalidDataException"/> naming <paramref name="name"/> otherwise.</summary>
    public static async Task<byte[]> ReadVerifiedAsync(ICheckpointStore store, long step, StoredFile expected, string name, CancellationToken cancellation = default)
    {
        await using var source = await store.OpenReadAsync(step, expected.Name, cancellation);
        using var buffer = new MemoryStream();
        var (sha, bytes) = await HashAsync(source, buffer, cancellation);
        if (sha != expected.Sha256 || bytes != expected.Bytes)
            throw new InvalidDataException($"{name}: {bytes} bytes with sha256 {sha}, the manifest says {expected.Bytes} bytes with sha256 {expected.Sha256}");
        return buffer.ToArray();
    }
}
