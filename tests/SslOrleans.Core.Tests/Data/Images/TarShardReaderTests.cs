using System.Formats.Tar;
using System.Text;
using SslOrleans.Core.Data.Images;
using SslOrleans.Core.Tests.Data;

namespace SslOrleans.Core.Tests.Data.Images;

public sealed class TarShardReaderTests
{
    [Fact]
    public void MembersAreGroupedByKeyAndReadAtTheirOffsets()
    {
        using var temp = new TempDirectory();
        var first = TestImages.Png(8, 8, TestImages.Pattern(1));
        var second = TestImages.Png(8, 8, TestImages.Pattern(2));
        // PAX with a long name puts an extended header before the member: the offset must still be the data's.
        var longKey = new string('k', 120);
        WriteTar(temp.File("a.tar"), TarEntryFormat.Pax, ("s0.cls", "1"u8.ToArray()), ("s0.png", first), ("meta.json", "{}"u8.ToArray()));
        WriteTar(temp.File("b.tar"), TarEntryFormat.Pax, ($"{longKey}.png", second), ($"{longKey}.cls", Encoding.ASCII.GetBytes(" 0\n")));

        using var reader = new TarShardReader(temp.Path, "train");

        Assert.Equal(2, reader.Count);
        Assert.Equal(2, reader.Classes); // max label + 1 without an index.json
        Assert.Equal([1, 0], new[] { reader.Label(0), reader.Label(1) });
        Assert.Equal(temp.File("a.tar") + ":s0.png", reader.Describe(0));
        var pixels = new byte[3 * 64];
        reader.Read(1, 3, 8, pixels);
        Assert.Equal(TestImages.Planes(8, 8, TestImages.Pattern(2)), pixels);
        reader.Read(0, 3, 8, pixels);
        Assert.Equal(TestImages.Planes(8, 8, TestImages.Pattern(1)), pixels);
    }

    [Fact]
    public void ATruncatedMemberIsAnErrorNamingShardAndMember()
    {
        using var temp = new TempDirectory();
        var image = TestImages.Png(16, 16, TestImages.Pattern(1));
        WriteTar(temp.File("s.tar"), TarEntryFormat.Ustar, ("k0.png", image), ("k1.png", TestImages.Png(16, 16, TestImages.Pattern(3))));
        var bytes = File.ReadAllBytes(temp.File("s.tar"));
        // Cut inside k1.png's data: first member 512 + padded data, then k1's header and a few bytes.
        int cut = 512 + (image.Length + 511) / 512 * 512 + 512 + 10;
        File.WriteAllBytes(temp.File("s.tar"), bytes[..cut]);

        var error = Assert.Throws<InvalidDataException>(() => new TarShardReader(temp.Path, "train"));

        Assert.Contains(temp.File("s.tar"), error.Message);
        Assert.Contains("k1.png", error.Message);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void ABrokenHeaderIsAnErrorNamingTheShard()
    {
        using var temp = new TempDirectory();
        var image = TestImages.Png(8, 8, TestImages.Pattern(1));
        WriteTar(temp.File("s.tar"), TarEntryFormat.Ustar, ("k0.png", image), ("k1.png", image));
        var bytes = File.ReadAllBytes(temp.File("s.tar"));
        int secondHeader = 512 + (image.Length + 511) / 512 * 512;
        bytes[secondHeader + 148] ^= 0x5A; // the checksum field
        bytes[secondHeader + 3] ^= 0x5A;
        File.WriteAllBytes(temp.File("s.tar"), bytes);

        var error = Assert.Throws<InvalidDataException>(() => new TarShardReader(temp.Path, "train"));

        Assert.Contains(temp.File("s.tar"), error.Message);
        Assert.Contains("k0.png", error.Message); // the last good member, to locate the damage
    }

    [Fact]
    public void AMemberThatIsNoImageIsABadSampleNamedShardColonMember()
    {
        using var temp = new TempDirectory();
        WriteTar(temp.File("s.tar"), TarEntryFormat.Ustar, ("k0.jpg", "not a jpeg at all"u8.ToArray()));

        using var reader = new TarShardReader(temp.Path, "train");

        var error = Assert.Throws<BadSampleException>(() => reader.Read(0, 3, 8, new byte[192]));
        Assert.Equal(temp.File("s.tar") + ":k0.jpg", error.Sample);
        Assert.Contains("not a decodable image", error.Reason);
        Assert.Equal(-1, reader.Label(0));
        Assert.Equal(0, reader.Classes);
    }

    [Fact]
    public void AnEmptyFolderHasNoShards()
    {
        using var temp = new TempDirectory();

        var error = Assert.Throws<InvalidDataException>(() => new TarShardReader(temp.Path, "train"));

        Assert.Contains(temp.Path, error.Message);
    }

    internal static void WriteTar(string path, TarEntryFormat format, params (string Name, byte[] Data)[] members)
    {
        using var file = File.Create(path);
        using var writer = new TarWriter(file, format);
        foreach (var (name, data) in members)
        {
            TarEntry entry = format == TarEntryFormat.Pax
                ? new PaxTarEntry(TarEntryType.RegularFile, name)
                : new UstarTarEntry(TarEntryType.RegularFile, name);
            entry.DataStream = new MemoryStream(data);
            writer.WriteEntry(entry);
        }
    }
}
