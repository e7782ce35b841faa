using SslOrleans.Core.Data.Images;
using SslOrleans.Core.Tests.Data;

namespace SslOrleans.Core.Tests.Data.Images;

public sealed class ImageFolderReaderTests
{
    [Fact]
    public void ClassesAreSortedOrdinallyAndFilesInOrder()
    {
        using var temp = new TempDirectory();
        // "Zebra" sorts before "apple" ordinally (upper case first), unlike a culture-aware sort.
        TestImages.Write(temp.File("apple/b.png"), TestImages.Png(8, 8, TestImages.Pattern(1)));
        TestImages.Write(temp.File("apple/a.png"), TestImages.Png(8, 8, TestImages.Pattern(2)));
        TestImages.Write(temp.File("Zebra/z.JPG"), TestImages.Jpeg(8, 8, TestImages.Smooth(0)));
        TestImages.Write(temp.File("apple/.hidden.png"), [1, 2, 3]);

        using var reader = new ImageFolderReader(temp.Path, "train");

        Assert.Equal(["Zebra", "apple"], reader.ClassNames);
        Assert.Equal(2, reader.Classes);
        Assert.Equal(3, reader.Count);
        Assert.Equal([0, 1, 1], Enumerable.Range(0, 3).Select(reader.Label));
        Assert.EndsWith("a.png", reader.Describe(1));
        Assert.EndsWith("b.png", reader.Describe(2));
        var pixels = new byte[3 * 8 * 8];
        reader.Read(1, 3, 8, pixels);
        Assert.Equal(TestImages.Planes(8, 8, TestImages.Pattern(2)), pixels);
    }

    [Fact]
    public void TrainAndTestFoldersAreSplitsWithTheSameClasses()
    {
        using var temp = new TempDirectory();
        TestImages.Write(temp.File("train/cat/1.png"), TestImages.Png(8, 8, TestImages.Pattern(1)));
        TestImages.Write(temp.File("train/dog/2.png"), TestImages.Png(8, 8, TestImages.Pattern(2)));
        TestImages.Write(temp.File("val/dog/3.png"), TestImages.Png(8, 8, TestImages.Pattern(3)));

        using var train = new ImageFolderReader(temp.Path, "train");
        using var test = new ImageFolderReader(temp.Path, "test");

        Assert.Equal(2, train.Count);
        Assert.Equal(["cat", "dog"], test.ClassNames);
        Assert.Equal(1, test.Count);
        Assert.Equal(1, test.Label(0)); // dog stays label 1 though the test split has no cat folder
        Assert.Contains("val", test.Name);
    }

    [Fact]
    public void AFlatFolderIsUnlabelledAndHasNoTestSplit()
    {
        using var temp = new TempDirectory();
        TestImages.Write(temp.File("x.png"), TestImages.Png(8, 8, TestImages.Pattern(1)));
        TestImages.Write(temp.File("y.webp"), [0]);

        using var reader = new ImageFolderReader(temp.Path, "train");

        Assert.Equal(0, reader.Classes);
        Assert.Empty(reader.ClassNames);
        Assert.Equal(2, reader.Count);
        Assert.Equal(-1, reader.Label(0));
        var error = Assert.Throws<ArgumentException>(() => new ImageFolderReader(temp.Path, "test"));
        Assert.Contains("no test split", error.Message);
        Assert.Contains(temp.Path, error.Message);
    }

    [Fact]
    public void AFileThatIsNoImageIsABadSampleNamingIt()
    {
        using var temp = new TempDirectory();
        TestImages.Write(temp.File("cat/1.png"), TestImages.Png(8, 8, TestImages.Pattern(1)));
        TestImages.Write(temp.File("cat/notes.txt"), "hello"u8.ToArray());

        using var reader = new ImageFolderReader(temp.Path, "train");

        var error = Assert.Throws<BadSampleException>(() => reader.Read(1, 3, 8, new byte[192]));
        Assert.EndsWith("notes.txt", error.Sample);
        Assert.Contains("not an image file", error.Reason);
    }

    [Fact]
    public void ATruncatedJpegIsABadSampleNamingTheFile()
    {
        using var temp = new TempDirectory();
        var jpeg = TestImages.Jpeg(24, 24, TestImages.Pattern(4));
        TestImages.Write(temp.File("cat/cut.jpg"), jpeg[..(jpeg.Length / 2)]);

        using var reader = new ImageFolderReader(temp.Path, "train");

        var error = Assert.Throws<BadSampleException>(() => reader.Read(0, 3, 24, new byte[3 * 24 * 24]));
        Assert.Contains(temp.File("cat/cut.jpg"), error.Message);
        Assert.Contains("not a decodable image", error.Message);
    }

    [Fact]
    public void AnEmptyClassFolderIsAnErrorNamingIt()
    {
        using var temp = new TempDirectory();
        TestImages.Write(temp.File("cat/1.png"), TestImages.Png(8, 8, TestImages.Pattern(1)));
        Directory.CreateDirectory(temp.File("dog"));

        var error = Assert.Throws<InvalidDataException>(() => new ImageFolderReader(temp.Path, "train"));

        Assert.Contains(temp.File("dog"), error.Message);
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void AMissingRootIsNamed()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-dataset-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<DirectoryNotFoundException>(() => new ImageFolderReader(missing, "train"));

        Assert.Contains(missing, error.Message);
    }
}
