using SslOrleans.Core.Data;

namespace SslOrleans.Core.Tests.Data;

public sealed class IdxReaderTests
{
    private static readonly byte[] Values = [0, 1, 2, 250, 254, 255];

    [Fact]
    public void PlainFileRoundTrips()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("a-idx2-ubyte", TempDirectory.Idx([2, 3], Values));

        var array = IdxReader.Read(path);

        Assert.Equal([2, 3], array.Dimensions);
        Assert.Equal(Values, array.Data);
    }

    [Fact]
    public void GzipFileRoundTripsWhateverItsName()
    {
        using var dir = new TempDirectory();
        // Detection is by magic, so a gzip file without ".gz" must still load.
        var path = dir.Write("no-extension", TempDirectory.Gzip(TempDirectory.Idx([3, 1, 2], Values)));

        var array = IdxReader.Read(path);

        Assert.Equal([3, 1, 2], array.Dimensions);
        Assert.Equal(Values, array.Data);
    }

    [Fact]
    public void NonSeekableStreamsWork()
    {
        var gz = TempDirectory.Gzip(TempDirectory.Idx([6], Values));
        using var stream = new NonSeekableStream(new MemoryStream(gz));

        var array = IdxReader.Read(stream, "pipe");

        Assert.Equal([6], array.Dimensions);
        Assert.Equal(Values, array.Data);
    }

    [Fact]
    public void TruncatedDataNamesFileAndSizes()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("short", TempDirectory.Idx([2, 3], Values[..4]));

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("expected 6 bytes", e.Message);
        Assert.Contains("found 4", e.Message);
    }

    [Fact]
    public void TruncatedGzipIsReported()
    {
        using var dir = new TempDirectory();
        var big = new byte[20000];
        new Random(1).NextBytes(big);
        var gz = TempDirectory.Gzip(TempDirectory.Idx([20000], big));
        var path = dir.Write("cut.gz", gz[..(gz.Length / 2)]);

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void CorruptGzipIsReported()
    {
        using var dir = new TempDirectory();
        byte[] bytes = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x13, 0x37, 0x42, 0x42, 0x42];
        var path = dir.Write("corrupt.gz", bytes);

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("gzip", e.Message);
    }

    [Fact]
    public void WrongMagicNamesFileAndExpectedMagic()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("text.txt", "hello, world, not idx"u8.ToArray());

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("magic", e.Message);
        Assert.Contains("0x0000 08 0N", e.Message);
    }

    [Fact]
    public void UnsupportedElementTypeIsNamed()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("floats", TempDirectory.Idx([1], [0, 0, 128, 63], type: 0x0D));

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        Assert.Contains(path, e.Message);
        Assert.Contains("unsupported", e.Message);
        Assert.Contains("0x0d", e.Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("long", TempDirectory.Idx([2], Values));

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(path));

        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MissingFileNamesPath()
    {
        using var dir = new TempDirectory();
        var path = dir.File("absent-idx1-ubyte");

        var e = Assert.Throws<FileNotFoundException>(() => IdxReader.Read(path));

        Assert.Equal(path, e.FileName);
        Assert.Contains(path, e.Message);
    }

    private sealed class NonSeekableStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
