using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace SslOrleans.Core.Data.Images;

/// <summary>
/// Turns one image into the CHW bytes that <see cref="ISampleReader.Read"/> promises: the shorter side resized to
/// <c>size</c> and the centre cropped to size × size, as torchvision's Resize(size) + CenterCrop(size) do.
/// Three channels are RGB; alpha is dropped (the stored colour kept, not composited over anything), as PIL's
/// convert("RGB") does. One channel is luma by PIL's "L" rule, round(0.299 R + 0.587 G + 0.114 B) in integers, so a
/// grey image comes back unchanged and a grey image asked for as RGB repeats its value in all three channels.
/// Embedded colour profiles are ignored (no colour conversion), as PIL does by default, so pixels match the file.
/// </summary>
public static class ImageDecoding
{
    /// <summary>The file extensions read as images, lower case with the dot.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"];

    // PIL's ITU-R 601-2 luma in 16-bit fixed point; the weights add up to 65536, so grey stays grey exactly.
    private const int RedWeight = 19595;
    private const int GreenWeight = 38470;
    private const int BlueWeight = 7471;

    /// <summary>Whether <paramref name="fileName"/> has one of the <see cref="Extensions"/>, in any case.</summary>
    public static bool IsImageFileName(string fileName)
    {
        var extension = Path.GetExtension(fileName);
        foreach (var known in Extensions)
        {
            if (string.Equals(extension, known, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Decodes JPEG, PNG, WebP, BMP or GIF (its first frame) <paramref name="encoded"/> into
    /// <paramref name="destination"/> (channels·size·size bytes, CHW). Throws <see cref="BadSampleException"/>
    /// naming <paramref name="sample"/> when the bytes are no image or are truncated.
    /// </summary>
    public static void Decode(ReadOnlySpan<byte> encoded, string sample, int channels, int size, Span<byte> destination)
    {
        CheckOutput(channels, size, destination);
        if (encoded.IsEmpty)
        {
            throw new BadSampleException(sample, "not a decodable image (the data is empty)");
        }

        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new BadSampleException(sample, "not a decodable image (unknown format or damaged header)");

        int width = codec.Info.Width, height = codec.Info.Height;
        long rgbaBytes = 4L * width * height;
        if (width <= 0 || height <= 0 || rgbaBytes > Array.MaxLength)
        {
            throw new BadSampleException(sample, $"not a decodable image (unusable dimensions {width}×{height})");
        }

        var rgba = ArrayPool<byte>.Shared.Rent((int)rgbaBytes);
        try
        {
            // Unpremultiplied and without a colour space: the stored colour values, untouched by alpha or profiles.
            var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            var pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
            SKCodecResult result;
            try
            {
                result = codec.GetPixels(info, pin.AddrOfPinnedObject());
            }
            finally
            {
                pin.Free();
            }

            // IncompleteInput is what a truncated file gives: Skia fills the missing rows, but the sample is broken.
            if (result != SKCodecResult.Success)
            {
                throw new BadSampleException(sample, $"not a decodable image ({result}: {Explain(result)})");
            }

            FromRgba(rgba.AsSpan(0, (int)rgbaBytes), width, height, channels, size, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>
    /// The raw-pixel path of the binary formats (CIFAR, STL-10): <paramref name="rgbPlanes"/> is one image as three
    /// row-major planes R, G, B of <paramref name="width"/> × <paramref name="height"/>; resized, cropped and
    /// converted exactly as <see cref="Decode"/> does.
    /// </summary>
    public static void FromPlanes(ReadOnlySpan<byte> rgbPlanes, int width, int height, int channels, int size, Span<byte> destination)
    {
        CheckOutput(channels, size, destination);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        int plane = width * height;
        if (rgbPlanes.Length != 3 * plane)
        {
            throw new ArgumentException(
                $"{rgbPlanes.Length} bytes are not three {width}×{height} planes ({3 * plane} bytes)", nameof(rgbPlanes));
        }

        var rgba = ArrayPool<byte>.Shared.Rent(4 * plane);
        try
        {
            for (int p = 0; p < plane; p++)
            {
                rgba[4 * p] = rgbPlanes[p];
                rgba[4 * p + 1] = rgbPlanes[plane + p];
                rgba[4 * p + 2] = rgbPlanes[2 * plane + p];
                rgba[4 * p + 3] = 255;
            }

            FromRgba(rgba.AsSpan(0, 4 * plane), width, height, channels, size, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    private static void FromRgba(Span<byte> rgba, int width, int height, int channels, int size, Span<byte> destination)
    {
        int shorter = Math.Min(width, height);
        int left2 = width - shorter, top2 = height - shorter; // twice the crop's offsets, to tell whole from half

        // No scaling and a crop on whole pixels: copy, so native-size images come back bit for bit.
        if (shorter == size && left2 % 2 == 0 && top2 % 2 == 0)
        {
            WriteChw(rgba, width, left2 / 2, top2 / 2, size, channels, destination);
            return;
        }

        // Alpha is dropped: every pixel made opaque, so resampling never mixes in transparency.
        for (int i = 3; i < rgba.Length; i += 4)
        {
            rgba[i] = 255;
        }

        using var image = SKImage.FromPixelCopy(
            new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), rgba, 4 * width);
        using var target = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(target))
        {
            canvas.Clear(SKColors.Black);

            // Shrinking: trilinear over mipmaps averages the whole footprint (cubic alone would alias on big steps).
            // Enlarging: Catmull-Rom, the sharp bicubic PIL and torchvision use.
            var sampling = shorter > size
                ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
                : new SKSamplingOptions(SKCubicResampler.CatmullRom);
            var source = SKRect.Create(left2 / 2f, top2 / 2f, shorter, shorter);
            canvas.DrawImage(image, source, SKRect.Create(0, 0, size, size), sampling, null);
            canvas.Flush();
        }

        WriteChw(target.GetPixelSpan(), size, 0, 0, size, channels, destination);
    }

    // Copies the size × size square at (left, top) of an RGBA image whose rows are `stride` pixels into CHW bytes.
    private static void WriteChw(ReadOnlySpan<byte> rgba, int stride, int left, int top, int size, int channels, Span<byte> destination)
    {
        int plane = size * size;
        for (int y = 0; y < size; y++)
        {
            var row = rgba.Slice(4 * ((top + y) * stride + left), 4 * size);
            for (int x = 0; x < size; x++)
            {
                byte r = row[4 * x], g = row[4 * x + 1], b = row[4 * x + 2];
                int p = y * size + x;
                if (channels == 3)
                {
                    destination[p] = r;
                    destination[plane + p] = g;
                    destination[2 * plane + p] = b;
                }
                else
                {
                    destination[p] = (byte)((r * RedWeight + g * GreenWeight + b * BlueWeight + 0x8000) >> 16);
                }
            }
        }
    }

    private static void CheckOutput(int channels, int size, Span<byte> destination)
    {
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 (luma) or 3 (RGB)");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (destination.Length != channels * size * size)
        {
            throw new ArgumentException(
                $"destination has {destination.Length} bytes, not {channels}×{size}×{size} = {channels * size * size}",
                nameof(destination));
        }
    }

    private static string Explain(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the data ends early, the file is truncated",
        SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.InvalidInput => "the data is invalid",
        _ => "the decoder refused it",
    };
}
