using SslOrleans.Core.Data.Images;
using SslOrleans.Core.Methods;

namespace SslOrleans.Core.Tests.Data.Images;

/// <summary>The streamed source on a real image folder: the same pixels as the reader, memory bounded by the cache's
/// capacity whatever is hinted, and hints that turn reads into hits.</summary>
public sealed class StreamingImageSourceTests
{
    private const int Side = 12;
    private static readonly ImageStats Stats = ImageStats.Repeated(0.5f, 0.25f, 3);

    /// <summary>A folder of <paramref name="perClass"/> × 2 PNGs, each with its own pattern.</summary>
    private static TempDirectory Folder(int perClass)
    {
        var dir = new TempDirectory();
        for (int c = 0; c < 2; c++)
        {
            Directory.CreateDirectory(dir.File($"class{c}"));
            for (int i = 0; i < perClass; i++)
                TestImages.Write(dir.File($"class{c}/{i:D4}.png"), TestImages.Png(Side, Side, TestImages.Pattern(c * 1000 + i)));
        }
        return dir;
    }

    private static float[] Expected(ISampleReader reader, int index)
    {
        var bytes = new byte[3 * Side * Side];
        reader.Read(index, 3, Side, bytes);
        return bytes.Select(b => b / 255f).ToArray();
    }

    [Fact]
    public void Reads_give_the_readers_pixels_in_unit_range_with_or_without_a_hint()
    {
        using var dir = Folder(10);
        using var reference = new ImageFolderReader(dir.Path, "train");
        using var source = new StreamingImageSource(new ImageFolderReader(dir.Path, "train"), 3, Side, Stats, capacity: 8, decoderThreads: 2);
        source.Prefetch([3, 17]);
        int[] indices = [17, 0, 3, 19, 17];
        using var batch = source.ToTensor(indices);
        Assert.Equal(new long[] { 5, 3, Side, Side }, batch.shape);
        var values = batch.data<float>().ToArray();
        int n = 3 * Side * Side;
        for (int i = 0; i < indices.Length; i++)
            Assert.Equal(Expected(reference, indices[i]), values.AsSpan(i * n, n).ToArray());
        Assert.Equal(reference.Count, source.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (byte)(i / 10)).ToArray(), source.Labels);
    }

    [Fact]
    public void Hinted_samples_are_decoded_ahead_and_read_as_hits()
    {
        using var dir = Folder(16);
        using var source = new StreamingImageSource(new ImageFolderReader(dir.Path, "train"), 3, Side, Stats, capacity: 32, decoderThreads: 1);
        int[] hinted = Enumerable.Range(0, 16).ToArray();
        source.Prefetch(hinted);
        // The decoder thread gets there on its own (within a generous bound; nothing else reads meanwhile).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !hinted.All(source.IsDecoded)) Thread.Sleep(10);
        Assert.All(hinted, i => Assert.True(source.IsDecoded(i), $"sample {i} was hinted but not decoded"));
        using (source.ToTensor(hinted)) { }
        Assert.Equal((16L, 0L), (source.Waited.Hits, source.Waited.Misses));
        using (source.ToTensor([20, 21])) { }
        Assert.Equal((16L, 2L), (source.Waited.Hits, source.Waited.Misses));
        // A read leaves the image cached: SimCLR reads a micro-batch twice in a step.
        using (source.ToTensor([5])) { }
        Assert.Equal(17L, source.Waited.Hits);
    }

    [Fact]
    public void Memory_stays_within_the_capacity_when_far_more_is_hinted_than_it_holds()
    {
        using var dir = Folder(60); // 120 images against a cache of 16
        using var reference = new ImageFolderReader(dir.Path, "train");
        using var source = new StreamingImageSource(new ImageFolderReader(dir.Path, "train"), 3, Side, Stats, capacity: 16, decoderThreads: 2);
        int n = 3 * Side * Side, most = 0;
        for (int start = 0; start < 120; start += 8)
        {
            // Hint this batch and the next three, as a worker hints its next step: far more than the cache holds.
            source.Prefetch(Enumerable.Range(start, Math.Min(32, 120 - start)).ToArray());
            most = Math.Max(most, source.Held);
            int[] batch = Enumerable.Range(start, 8).ToArray();
            using var images = source.ToTensor(batch);
            var values = images.data<float>().ToArray();
            for (int i = 0; i < batch.Length; i++) Assert.Equal(Expected(reference, batch[i]), values.AsSpan(i * n, n).ToArray());
            most = Math.Max(most, source.Held);
        }
        Assert.InRange(most, 1, 16);
    }

    [Fact]
    public void A_bad_sample_read_through_a_hint_throws_its_name()
    {
        using var dir = Folder(2);
        File.WriteAllBytes(dir.File("class1/0001.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        using var source = new StreamingImageSource(new ImageFolderReader(dir.Path, "train"), 3, Side, Stats, capacity: 8, decoderThreads: 1);
        source.Prefetch([0, 1, 2, 3]);
        var error = Assert.Throws<BadSampleException>(() => source.ToTensor([3]));
        Assert.Contains("0001.png", error.Message);
        using var good = source.ToTensor([0, 1, 2]);
        Assert.Equal(3, good.shape[0]);
    }
}
