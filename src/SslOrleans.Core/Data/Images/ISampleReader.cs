namespace SslOrleans.Core.Data.Images;

/// <summary>
/// One split of a dataset as samples read and decoded one at a time, never all held in memory: an image folder, tar
/// shards, or the CIFAR and STL-10 binaries. Thread-safe: the data path decodes on several threads at once.
/// </summary>
public interface ISampleReader : IDisposable
{
    /// <summary>Format and location, for messages: "imagefolder:/data/pets/train".</summary>
    string Name { get; }

    int Count { get; }

    /// <summary>Classes of the labels; 0 when the split is unlabelled.</summary>
    int Classes { get; }

    /// <summary>The classes' names in label order (a folder's class folders sorted ordinally); empty when unlabelled.</summary>
    IReadOnlyList<string> ClassNames { get; }

    /// <summary>The label of sample <paramref name="index"/>, in [0, Classes), or -1 when unlabelled.</summary>
    int Label(int index);

    /// <summary>Where sample <paramref name="index"/> comes from, for messages: a file's path, or "SHARD.tar:MEMBER".</summary>
    string Describe(int index);

    /// <summary>
    /// Decodes sample <paramref name="index"/> into <paramref name="destination"/>: channels·size·size bytes, CHW,
    /// the image's shorter side resized to <paramref name="size"/> and centre-cropped (unchanged when it already is
    /// size × size); one channel is luma, three are RGB. Throws <see cref="BadSampleException"/> naming
    /// <see cref="Describe"/> when the sample cannot be read or decoded.
    /// </summary>
    void Read(int index, int channels, int size, Span<byte> destination);
}
