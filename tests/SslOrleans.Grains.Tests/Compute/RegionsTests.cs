using SslOrleans.Grains.Compute;

namespace SslOrleans.Grains.Tests.Compute;

public sealed class RegionsTests
{
    [Fact]
    public void A_chunk_straddling_parts_lands_in_each_part_at_its_start()
    {
        var p = new float[6];
        var b = new float[3];
        var t = new float[6];
        Region<float>[] parts = [new(p, 2, 3), new(b, 0, 2), new(t, 4, 2)]; // index space of 3 + 2 + 2 = 7
        Regions.Write([1, 2, 3, 4, 5], 1, parts);                    // indices 1..5
        Assert.Equal(new float[] { 0, 0, 0, 1, 2, 0 }, p);
        Assert.Equal(new float[] { 3, 4, 0 }, b);
        Assert.Equal(new float[] { 0, 0, 0, 0, 5, 0 }, t);
        var back = new float[5];
        Regions.Read(back, 1, parts);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5 }, back);
    }

    [Fact]
    public void Chunks_cover_a_payload_without_gaps_or_overlap()
    {
        var chunks = TensorBytes.Chunks(1000, 1024, sizeof(double)).ToList();
        Assert.Equal(8, chunks.Count);                       // 128 doubles a chunk
        Assert.All(chunks, c => Assert.True(c.Count * sizeof(double) <= 1024));
        Assert.Equal(Enumerable.Range(0, 1000), chunks.SelectMany(c => Enumerable.Range((int)c.Offset, c.Count)));
        var payload = Enumerable.Range(0, 300).Select(i => (double)i).ToArray();
        var rebuilt = new double[300];
        foreach (var (offset, _, data) in Regions.Split<double>([new(payload, 0, payload.Length)], 1024)) TensorBytes.As<double>(data).CopyTo(rebuilt.AsSpan((int)offset));
        Assert.Equal(payload, rebuilt);
    }
}
