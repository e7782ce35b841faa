using SkiaSharp;

namespace SslOrleans.Core.Tests.Data.Images;

/// <summary>Small images made in memory and encoded with SkiaSharp, for the readers' tests.</summary>
internal static class TestImages
{
    /// <summary>An RGB image from a colour function, as CHW planes (what the readers return at native size).</summary>
    public static byte[] Planes(int width, int height, Func<int, int, (byte R, byte G, byte B)> colour)
    {
        int plane = width * height;
        var planes = new byte[3 * plane];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = colour(x, y);
                planes[y * width + x] = r;
                planes[plane + y * width + x] = g;
                planes[2 * plane + y * width + x] = b;
            }
        }

        return planes;
    }

    /// <summary>A varied but deterministic colour per pixel and seed.</summary>
    public static Func<int, int, (byte, byte, byte)> Pattern(int seed) =>
        (x, y) => ((byte)(x * 37 + y * 11 + seed * 53), (byte)(x * 5 + y * 71 + seed * 17), (byte)(x * y + seed * 29));

    /// <summary>A smooth pattern, which JPEG reproduces closely.</summary>
    public static Func<int, int, (byte, byte, byte)> Smooth(int seed) =>
        (x, y) => ((byte)(40 + 4 * x + seed), (byte)(60 + 3 * y), (byte)(200 - 2 * x - 2 * y));

    public static byte[] Encode(byte[] planes, int width, int height, SKEncodedImageFormat format, int quality = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        int plane = width * height;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int p = y * width + x;
                bitmap.SetPixel(x, y, new SKColor(planes[p], planes[plane + p], planes[2 * plane + p]));
            }
        }

        return Encode(bitmap, format, quality);
    }

    /// <summary>A one-channel (grey) PNG.</summary>
    public static byte[] GreyPng(byte[] grey, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque));
        grey.CopyTo(bitmap.GetPixelSpan());
        return Encode(bitmap, SKEncodedImageFormat.Png, 100);
    }

    public static byte[] Png(int width, int height, Func<int, int, (byte, byte, byte)> colour) =>
        Encode(Planes(width, height, colour), width, height, SKEncodedImageFormat.Png);

    public static byte[] Jpeg(int width, int height, Func<int, int, (byte, byte, byte)> colour) =>
        Encode(Planes(width, height, colour), width, height, SKEncodedImageFormat.Jpeg, 95);

    public static void Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        using var data = bitmap.Encode(format, quality) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}");
        return data.ToArray();
    }
}
