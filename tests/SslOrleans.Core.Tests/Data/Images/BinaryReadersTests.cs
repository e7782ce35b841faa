using SslOrleans.Core.Data;
using SslOrleans.Core.Data.Images;
using SslOrleans.Core.Tests.Data;

namespace SslOrleans.Core.Tests.Data.Images;

public sealed class BinaryReadersTests
{
    [Fact]
    public void Cifar10BatchesAreTrainAndTestWithNames()
    {
        using var temp = new TempDirectory();
        var folder = Directory.CreateDirectory(temp.File("cifar-10-batches-bin")).FullName;
        for (int b = 1; b <= 5; b++)
        {
            File.WriteAllBytes(Path.Combine(folder, $"data_batch_{b}.bin"), Records([(byte)b, (byte)(b + 4)], labelBytes: 1, seed: b));
        }

        File.WriteAllBytes(Path.Combine(folder, "test_batch.bin"), Records([7], labelBytes: 1, seed: 9));
        File.WriteAllLines(Path.Combine(folder, "batches.meta.txt"), ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck", ""]);

        using var train = DatasetFormats.Open("cifar10", temp.Path, "train");
        using var test = DatasetFormats.Open("cifar10", temp.Path, "test");

        Assert.Equal(10, train.Count);
        Assert.Equal(10, train.Classes);
        Assert.Equal("truck", train.ClassNames[9]);
        Assert.Equal([1, 5, 2, 6, 3, 7, 4, 8, 5, 9], Enumerable.Range(0, 10).Select(train.Label));
        Assert.Equal(7, test.Label(0));
        var pixels = new byte[3 * 32 * 32];
        train.Read(3, 3, 32, pixels); // batch 2, record 1
        Assert.Equal(Image(seed: 2, record: 1), pixels);
        Assert.EndsWith("data_batch_2.bin#1", train.Describe(3));
    }

    [Fact]
    public void Cifar100UsesTheFineLabel()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("train.bin"), Records([3, 99], labelBytes: 2, seed: 1));
        File.WriteAllBytes(temp.File("test.bin"), Records([42], labelBytes: 2, seed: 2));

        using var train = new CifarBinaryReader(temp.Path, "train", CifarVariant.Cifar100);

        Assert.Equal(100, train.Classes);
        Assert.Equal([3, 99], new[] { train.Label(0), train.Label(1) });
        Assert.Equal("99", train.ClassNames[99]);
        var pixels = new byte[3 * 32 * 32];
        train.Read(1, 3, 32, pixels);
        Assert.Equal(Image(seed: 1, record: 1), pixels);
    }

    [Fact]
    public void ACifarFileOfTheWrongLengthIsNamedWithItsLengths()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("test_batch.bin"), new byte[3073 + 5]);

        var error = Assert.Throws<InvalidDataException>(() => new CifarBinaryReader(temp.Path, "test", CifarVariant.Cifar10));

        Assert.Contains(temp.File("test_batch.bin"), error.Message);
        Assert.Contains("3078", error.Message);
        Assert.Contains("3073", error.Message);
    }

    [Fact]
    public void MissingCifarFilesAreNamed()
    {
        using var temp = new TempDirectory();

        var error = Assert.Throws<DatasetNotFoundException>(() => new CifarBinaryReader(temp.Path, "train", CifarVariant.Cifar10));

        Assert.Contains("data_batch_1.bin", error.Message);
    }

    [Fact]
    public void Stl10IsTransposedFromColumnMajorAndLabelsStartAtZero()
    {
        using var temp = new TempDirectory();
        var folder = Directory.CreateDirectory(temp.File("stl10_binary")).FullName;
        // Asymmetric: stored[c][x][y] = (c·50 + x + 2y) mod 256, so a missing or wrong transpose changes the bytes.
        static byte Pixel(int c, int row, int column) => (byte)(c * 50 + column + 2 * row);
        var image = new byte[3 * 96 * 96];
        for (int c = 0; c < 3; c++)
        {
            for (int x = 0; x < 96; x++)
            {
                for (int y = 0; y < 96; y++)
                {
                    image[c * 9216 + x * 96 + y] = Pixel(c, y, x);
                }
            }
        }

        File.WriteAllBytes(Path.Combine(folder, "train_X.bin"), [.. image, .. new byte[image.Length]]);
        File.WriteAllBytes(Path.Combine(folder, "train_y.bin"), [1, 10]);
        File.WriteAllBytes(Path.Combine(folder, "unlabeled_X.bin"), image);

        using var train = new Stl10BinaryReader(temp.Path, "train");
        using var both = new Stl10BinaryReader(temp.Path, "train+unlabeled");
        using var unlabelled = new Stl10BinaryReader(temp.Path, "unlabeled");

        Assert.Equal([0, 9], new[] { train.Label(0), train.Label(1) });
        Assert.Equal(10, train.Classes);
        Assert.Equal(0, unlabelled.Classes);
        Assert.Equal(-1, unlabelled.Label(0));
        Assert.Equal(3, both.Count);
        Assert.Equal(-1, both.Label(2));
        var pixels = new byte[3 * 96 * 96];
        both.Read(2, 3, 96, pixels);
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(Pixel(c, 0, 5), pixels[c * 9216 + 5]); // row 0, column 5
            Assert.Equal(Pixel(c, 7, 1), pixels[c * 9216 + 7 * 96 + 1]);
        }

        Assert.Equal(96, DatasetFormats.NativeSize("stl10"));
    }

    [Fact]
    public void Stl10LabelsOutsideOneToTenAreNamed()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("test_X.bin"), new byte[27648]);
        File.WriteAllBytes(temp.File("test_y.bin"), [0]);

        var error = Assert.Throws<InvalidDataException>(() => new Stl10BinaryReader(temp.Path, "test"));

        Assert.Contains(temp.File("test_y.bin"), error.Message);
    }

    [Fact]
    public void UnknownFormatsNameTheKnownOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetFormats.Open("parquet", "/tmp", "train"));

        foreach (var known in DatasetFormats.Known)
        {
            Assert.Contains(known, error.Message);
        }

        Assert.Equal(32, DatasetFormats.NativeSize("cifar100"));
        Assert.Null(DatasetFormats.NativeSize("tar"));
    }

    private static byte[] Image(int seed, int record) => TestImages.Planes(32, 32, TestImages.Pattern(seed * 10 + record));

    private static byte[] Records(byte[] labels, int labelBytes, int seed)
    {
        var bytes = new List<byte>();
        for (int r = 0; r < labels.Length; r++)
        {
            if (labelBytes == 2)
            {
                bytes.Add((byte)(labels[r] / 5)); // a coarse label that must not be used
            }

            bytes.Add(labels[r]);
            bytes.AddRange(Image(seed, r));
        }

        return [.. bytes];
    }
}
