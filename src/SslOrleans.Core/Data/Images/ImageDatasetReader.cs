namespace SslOrleans.Core.Data.Images;

/// <summary>
/// An in-memory dataset (Fashion-MNIST) as a sample reader, so that it can be trained at another size or with three
/// channels through the same decoding rules as any image folder (a grey image becomes three equal channels).
/// </summary>
public sealed class ImageDatasetReader(ImageDataset data) : ISampleReader
{
    private readonly int plane = data.Height * data.Width;

    public string Name => data.Name;

    public int Count => data.Count;

    public int Classes => data.Classes;

    public IReadOnlyList<string> ClassNames { get; } = Enumerable.Range(0, data.Classes).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public int Label(int index) => data.Labels[index];

    public string Describe(int index) => $"{data.Name}#{index}";

    public void Read(int index, int channels, int size, Span<byte> destination)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name}: sample index {index} is outside [0, {Count})");
        var image = data.Pixels.AsSpan(index * data.Channels * plane, data.Channels * plane);
        if (data.Channels == 3)
        {
            ImageDecoding.FromPlanes(image, data.Width, data.Height, channels, size, destination);
            return;
        }
        var planes = new byte[3 * plane];
        for (int c = 0; c < 3; c++) image.CopyTo(planes.AsSpan(c * plane, plane));
        ImageDecoding.FromPlanes(planes, data.Width, data.Height, channels, size, destination);
    }

    public void Dispose()
    {
    }
}
