using System.Security.Cryptography;
using SslOrleans.Storage.Blobs;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>The sha256 an upload records is the bytes' own, however the SDK reads them (retries rewind).</summary>
public sealed class HashingReadStreamTests
{
    [Fact]
    public void The_hash_is_the_datas_whatever_the_reads_and_seeks()
    {
        var data = new byte[100_000];
        new Random(3).NextBytes(data);
        var expected = Convert.ToHexStringLower(SHA256.HashData(data));
        var buffer = new byte[7_000];

        // A retried single-shot upload: reads a part, rewinds, reads everything.
        using (var stream = new HashingReadStream(data))
        {
            Assert.Equal(buffer.Length, stream.Read(buffer));
            stream.Position = 0;
            while (stream.Read(buffer) > 0) { }
            Assert.Equal(expected, stream.Sha256);
        }
        // Reads that skip ahead, and none at all: what no read reached is hashed at the end.
        using (var stream = new HashingReadStream(data))
        {
            stream.Seek(50_000, SeekOrigin.Begin);
            Assert.Equal(buffer.Length, stream.Read(buffer));
            Assert.Equal(expected, stream.Sha256);
        }
        using (var stream = new HashingReadStream(data))
        {
            int n = stream.Read(buffer);
            Assert.Equal(data.AsSpan(0, n).ToArray(), buffer);
            Assert.Equal(expected, stream.Sha256);
        }
    }
}
