using SslOrleans.Core.Data.Images;

namespace SslOrleans.Core.Tests.Data.Images;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("1000", 1000L)]
    [InlineData("1GB", 1_000_000_000L)]
    [InlineData("512MB", 512_000_000L)]
    [InlineData("64KiB", 65536L)]
    [InlineData("1 GiB", 1L << 30)]
    [InlineData("1.5kb", 1500L)]
    [InlineData("7B", 7L)]
    public void ParsesSizesWithUnits(string text, long expected) => Assert.Equal(expected, ByteSize.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("GB")]
    [InlineData("12 parsecs")]
    [InlineData("-5MB")]
    public void RejectsOtherTextNamingIt(string text)
    {
        var error = Assert.Throws<FormatException>(() => ByteSize.Parse(text));

        Assert.Contains($"\"{text}\"", error.Message);
    }
}
