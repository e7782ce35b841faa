using System.Security.Cryptography;

namespace SslOrleans.Storage.Blobs;

/// <summary>
/// Reads bytes held in memory and computes their SHA-256 as they stream out, so an upload hashes its data on the way
/// instead of in a pass of its own. A reader may seek back (a retried single-shot upload rewinds): every byte is
/// hashed once, in order, the first time a read reaches it; <see cref="Sha256"/> hashes what no read reached.
/// </summary>
internal sealed class HashingReadStream(ReadOnlyMemory<byte> data) : Stream
{
    private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long position;
    private long hashed;
    private string? sha;

    public string Sha256
    {
        get
        {
            if (sha is null)
            {
                if (hashed < data.Length) hash.AppendData(data.Span[(int)hashed..]);
                hashed = data.Length;
                sha = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            return sha;
        }
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => data.Length;

    public override long Position
    {
        get => position;
        set => position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = (int)Math.Clamp(data.Length - position, 0, buffer.Length);
        data.Span.Slice((int)position, n).CopyTo(buffer);
        long end = position + n;
        // Hash the part of this read that extends the hashed prefix.
        if (sha is null && position <= hashed && end > hashed)
        {
            hash.AppendData(data.Span[(int)hashed..(int)end]);
            hashed = end;
        }
        position = end;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => position + offset,
        _ => data.Length + offset,
    };

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) hash.Dispose();
        base.Dispose(disposing);
    }
}
