using SkiaSharp;
using SslOrleans.Core.Data.Images;

namespace SslOrleans.Core.Tests.Data.Images;

public sealed class ImageDecodingTests
{
    [Fact]
    public void TheNativeSkiaLibraryLoadsOnThisMachine()
    {
        // Touches libSkiaSharp.so: a missing or incompatible native asset fails here first, by name.
        using var bitmap = new SKBitmap(2, 2);
        Assert.True(SkiaSharpVersion.Native.Major > 0);
    }

    [Fact]
    public void APngAtNativeSizeComesBackBitForBit()
    {
        var planes = TestImages.Planes(12, 12, TestImages.Pattern(3));
        var png = TestImages.Encode(planes, 12, 12, SKEncodedImageFormat.Png);
        var output = new byte[3 * 12 * 12];

        ImageDecoding.Decode(png, "x.png", 3, 12, output);

        Assert.Equal(planes, output);
    }

    [Fact]
    public void LumaIsPilsRoundedRule()
    {
        var planes = TestImages.Planes(8, 8, TestImages.Pattern(1));
        var png = TestImages.Encode(planes, 8, 8, SKEncodedImageFormat.Png);
        var output = new byte[8 * 8];

        ImageDecoding.Decode(png, "x.png", 1, 8, output);

        for (int p = 0; p < 64; p++)
        {
            double luma = 0.299 * planes[p] + 0.587 * planes[64 + p] + 0.114 * planes[128 + p];
            Assert.Equal((byte)Math.Round(luma, MidpointRounding.AwayFromZero), output[p]);
        }
    }

    [Fact]
    public void AGreyImageAsRgbRepeatsItsValueAndAsLumaIsUnchanged()
    {
        var grey = Enumerable.Range(0, 100).Select(i => (byte)(i * 2 + 7)).ToArray();
        var png = TestImages.GreyPng(grey, 10, 10);
        var rgb = new byte[300];
        var luma = new byte[100];

        ImageDecoding.Decode(png, "g.png", 3, 10, rgb);
        ImageDecoding.Decode(png, "g.png", 1, 10, luma);

        Assert.Equal(grey, rgb[..100]);
        Assert.Equal(grey, rgb[100..200]);
        Assert.Equal(grey, rgb[200..]);
        Assert.Equal(grey, luma);
    }

    [Fact]
    public void AWideImageIsCentreCroppedAtScaleOne()
    {
        // 40×20: left half red, right half blue, a green column marks x = 10 (the crop's left edge).
        var png = TestImages.Png(40, 20, (x, _) => x == 10 ? ((byte)0, (byte)255, (byte)0) : x < 20 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)255));
        var output = new byte[3 * 20 * 20];

        ImageDecoding.Decode(png, "wide.png", 3, 20, output);

        for (int y = 0; y < 20; y++)
        {
            Assert.Equal(255, output[400 + y * 20]); // green at the crop's first column
            Assert.Equal(255, output[y * 20 + 5]); // red left of the centre
            Assert.Equal(0, output[800 + y * 20 + 5]);
            Assert.Equal(255, output[800 + y * 20 + 15]); // blue right of it
            Assert.Equal(0, output[y * 20 + 15]);
        }
    }

    [Fact]
    public void ATallImageIsResizedThenCentreCropped()
    {
        // 20×40 shrunk to 10: rows 10..30 of the source survive; the top quarter is black, the bottom quarter white.
        var png = TestImages.Png(20, 40, (_, y) => y < 10 ? ((byte)0, (byte)0, (byte)0) : y >= 30 ? ((byte)255, (byte)255, (byte)255) : ((byte)0, (byte)200, (byte)0));
        var output = new byte[3 * 10 * 10];

        ImageDecoding.Decode(png, "tall.png", 3, 10, output);

        // Every output pixel is from the green middle band: no black or white from the cropped-off quarters.
        for (int p = 0; p < 100; p++)
        {
            Assert.InRange(output[p], 0, 2);
            Assert.InRange(output[100 + p], 195, 205);
            Assert.InRange(output[200 + p], 0, 2);
        }
    }

    [Fact]
    public void EnlargingASquareImageKeepsItsLayout()
    {
        var png = TestImages.Png(8, 8, (x, _) => x < 4 ? ((byte)255, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)255));
        var output = new byte[3 * 16 * 16];

        ImageDecoding.Decode(png, "small.png", 3, 16, output);

        Assert.Equal(255, output[3 * 16 + 2]);
        Assert.Equal(255, output[512 + 3 * 16 + 13]);
        Assert.Equal(0, output[512 + 3 * 16 + 2]);
    }

    [Fact]
    public void AJpegIsCloseToItsSource()
    {
        var planes = TestImages.Planes(16, 16, TestImages.Smooth(0));
        var jpeg = TestImages.Encode(planes, 16, 16, SKEncodedImageFormat.Jpeg, 95);
        var output = new byte[3 * 16 * 16];

        ImageDecoding.Decode(jpeg, "x.jpg", 3, 16, output);

        Assert.True(planes.Zip(output).Max(pair => Math.Abs(pair.First - pair.Second)) <= 12);
        Assert.True(planes.Zip(output).Average(pair => Math.Abs(pair.First - pair.Second)) <= 3);
    }

    [Fact]
    public void ATruncatedJpegIsABadSampleNamingIt()
    {
        var jpeg = TestImages.Jpeg(32, 32, TestImages.Pattern(0));
        var output = new byte[3 * 32 * 32];

        var error = Assert.Throws<BadSampleException>(() => ImageDecoding.Decode(jpeg.AsSpan(0, jpeg.Length / 2), "cut.jpg", 3, 32, output));

        Assert.Equal("cut.jpg", error.Sample);
        Assert.StartsWith("not a decodable image", error.Reason);
        Assert.Contains("cut.jpg", error.Message);
    }

    [Fact]
    public void BytesThatAreNoImageAreABadSample()
    {
        var error = Assert.Throws<BadSampleException>(() => ImageDecoding.Decode("hello"u8, "note.png", 1, 4, new byte[16]));

        Assert.Contains("not a decodable image", error.Reason);
    }

    [Fact]
    public void PlanesAtNativeSizeAreCopiedAndOtherwiseResized()
    {
        var planes = TestImages.Planes(32, 32, TestImages.Pattern(5));
        var same = new byte[3 * 32 * 32];
        var smaller = new byte[3 * 16 * 16];

        ImageDecoding.FromPlanes(planes, 32, 32, 3, 32, same);
        ImageDecoding.FromPlanes(TestImages.Planes(32, 32, (_, _) => (10, 20, 30)), 32, 32, 3, 16, smaller);

        Assert.Equal(planes, same);
        Assert.All(smaller[..256], v => Assert.Equal(10, v));
        Assert.All(smaller[512..], v => Assert.Equal(30, v));
    }
}
