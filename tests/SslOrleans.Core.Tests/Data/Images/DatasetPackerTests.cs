using SslOrleans.Core.Data.Images;
using SslOrleans.Core.Tests.Data;

namespace SslOrleans.Core.Tests.Data.Images;

public sealed class DatasetPackerTests
{
    [Fact]
    public void PackedShardsReadBackWithTheSameLabelsAndPixels()
    {
        using var source = new TempDirectory();
        using var destination = new TempDirectory();
        for (int i = 0; i < 12; i++)
        {
            var folder = i < 9 ? "train" : "test";
            var label = new[] { "ant", "bee", "cow" }[i % 3];
            var bytes = i % 2 == 0 ? TestImages.Png(10 + i, 12, TestImages.Pattern(i)) : TestImages.Jpeg(12, 12, TestImages.Smooth(i));
            TestImages.Write(source.File($"{folder}/{label}/{i:D2}.{(i % 2 == 0 ? "png" : "jpg")}"), bytes);
        }

        var dest = Path.Combine(destination.Path, "packed");
        var index = DatasetPacker.Pack(source.Path, dest, shardBytes: 3000);

        Assert.Equal(["ant", "bee", "cow"], index.ClassNames);
        Assert.Equal(9, index.Splits["train"].Samples);
        Assert.Equal(3, index.Splits["test"].Samples);
        Assert.True(index.Splits["train"].Shards.Count > 1, "3000-byte shards must split nine images");
        foreach (var shard in index.Splits["train"].Shards)
        {
            long bytes = new FileInfo(Path.Combine(dest, "train", shard.Name)).Length;
            Assert.Equal(shard.Bytes, bytes);
            Assert.True(bytes <= 3000 || shard.Samples == 1, $"{shard.Name} has {bytes} bytes");
        }

        Assert.True(File.Exists(Path.Combine(dest, "index.json")));
        foreach (var split in new[] { "train", "test" })
        {
            using var folder = new ImageFolderReader(source.Path, split);
            using var tar = new TarShardReader(dest, split);
            Assert.Equal(folder.Count, tar.Count);
            Assert.Equal(folder.ClassNames, tar.ClassNames);
            var expected = new byte[3 * 10 * 10];
            var actual = new byte[3 * 10 * 10];
            for (int i = 0; i < folder.Count; i++)
            {
                Assert.Equal(folder.Label(i), tar.Label(i));
                folder.Read(i, 3, 10, expected);
                tar.Read(i, 3, 10, actual);
                Assert.Equal(expected, actual);
            }
        }
    }

    [Fact]
    public void ASingleSplitFolderPacksIntoTheDestinationItself()
    {
        using var source = new TempDirectory();
        using var destination = new TempDirectory();
        TestImages.Write(source.File("a.png"), TestImages.Png(8, 8, TestImages.Pattern(1)));
        TestImages.Write(source.File("b.bmp"), TestImages.Png(8, 8, TestImages.Pattern(2))); // PNG bytes, .bmp name: kept as is
        var progress = new List<(int, int)>();

        var index = DatasetPacker.Pack(source.Path, destination.Path, ByteSize.Parse("1MB"), new SyncProgress(progress));

        Assert.Empty(index.ClassNames);
        Assert.Equal(["shard-000000.tar"], index.Splits["train"].Shards.Select(s => s.Name));
        Assert.Equal([(1, 2), (2, 2)], progress);
        using var tar = new TarShardReader(destination.Path, "train");
        Assert.Equal(2, tar.Count);
        Assert.Equal(-1, tar.Label(1));
        Assert.EndsWith(":000000001.bmp", tar.Describe(1));
    }

    [Fact]
    public void ATarReaderCatchesAShardMissingFromTheIndex()
    {
        using var source = new TempDirectory();
        using var destination = new TempDirectory();
        for (int i = 0; i < 4; i++)
        {
            TestImages.Write(source.File($"c/{i}.png"), TestImages.Png(8, 8, TestImages.Pattern(i)));
        }

        var index = DatasetPacker.Pack(source.Path, destination.Path, shardBytes: 1);
        Assert.Equal(4, index.Splits["train"].Shards.Count); // each sample alone, since none fits in 1 byte
        File.Delete(Path.Combine(destination.Path, "shard-000002.tar"));

        var error = Assert.Throws<InvalidDataException>(() => new TarShardReader(destination.Path, "train"));
        Assert.Contains("index.json", error.Message);
    }

    private sealed class SyncProgress(List<(int, int)> seen) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => seen.Add(value);
    }
}
