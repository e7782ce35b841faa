using SkiaSharp;

namespace SslOrleans.Grains.Tests.Data;

/// <summary>
/// A small RGB image folder the tests write: train/ and test/ splits of three classes (reddish, greenish and bluish
/// noise with a class-coloured square), JPEG and PNG mixed, of varied sizes, so that decoding, resizing and colour all
/// take part.
/// </summary>
internal static class ColourImageFolder
{
    public static readonly string[] Classes = ["blue", "green", "red"];

    public static string Write(int trainPerClass, int testPerClass, int seed = 1)
    {
        var root = Cluster.ClusterTestSupport.TempDir("sslo-colour");
        var random = new Random(seed);
        foreach (var (split, count) in new[] { ("train", trainPerClass), ("test", testPerClass) })
        {
            for (int c = 0; c < Classes.Length; c++)
            {
                var folder = Directory.CreateDirectory(Path.Combine(root, split, Classes[c])).FullName;
                for (int i = 0; i < count; i++)
                {
                    bool jpeg = i % 2 == 0;
                    var bytes = Image(random, 2 - c, 30 + random.Next(20), 30 + random.Next(20), jpeg);
                    File.WriteAllBytes(Path.Combine(folder, $"{i:D4}.{(jpeg ? "jpg" : "png")}"), bytes);
                }
            }
        }
        return root;
    }

    /// <summary>Noise around the class's colour (channel <paramref name="strong"/> high) with a brighter square.</summary>
    public static byte[] Image(Random random, int strong, int width, int height, bool jpeg)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = bitmap.GetPixelSpan();
        int sx = random.Next(width / 2), sy = random.Next(height / 2);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bool square = x >= sx && x < sx + width / 3 && y >= sy && y < sy + height / 3;
                for (int ch = 0; ch < 3; ch++)
                {
                    int baseValue = ch == strong ? 170 : 50;
                    pixels[(y * width + x) * 4 + ch] = (byte)Math.Clamp(baseValue + (square ? 60 : 0) + random.Next(-40, 40), 0, 255);
                }
                pixels[(y * width + x) * 4 + 3] = 255;
            }
        }
        using var data = bitmap.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, 90);
        return data.ToArray();
    }
}
