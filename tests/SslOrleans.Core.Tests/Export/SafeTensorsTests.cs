using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using SslOrleans.Core.Export;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Export;

public sealed class SafeTensorsTests
{
    [Fact]
    public void RoundTripsSeveralDTypesAndShapes()
    {
        using var f32 = tensor(new float[] { 1.5f, -2, 3, 4, 5, float.MaxValue }, [2, 3]);
        using var f64 = tensor(new double[] { Math.PI, -1e300, 0, double.Epsilon }, [4]);
        using var i64 = tensor(long.MinValue + 7);
        using var i32 = tensor(new int[] { 1, -2, int.MaxValue, 4, 5, 6, 7, 8 }, [2, 2, 2]);
        using var u8 = tensor(new byte[] { 0, 255, 17 }, [3, 1]);
        using var none = zeros([2, 0, 3], ScalarType.Float32);

        var read = RoundTrip(new() { ["w"] = f32, ["d"] = f64, ["step"] = i64, ["cube"] = i32, ["pix"] = u8, ["empty"] = none });

        Assert.Equal(["w", "d", "step", "cube", "pix", "empty"], read.Keys);
        AssertSame(f32, read["w"]);
        AssertSame(f64, read["d"]);
        AssertSame(i64, read["step"]);
        AssertSame(i32, read["cube"]);
        AssertSame(u8, read["pix"]);
        AssertSame(none, read["empty"]);
        Dispose(read);
    }

    [Fact]
    public void NonContiguousTensorsAreWrittenInLogicalOrder()
    {
        using var matrix = arange(6, dtype: ScalarType.Int32).reshape(2, 3);
        using var transposed = matrix.t();

        var read = RoundTrip(new() { ["t"] = transposed });

        Assert.Equal(new long[] { 3, 2 }, read["t"].shape);
        Assert.Equal(new[] { 0, 3, 1, 4, 2, 5 }, read["t"].data<int>().ToArray());
        Dispose(read);
    }

    [Fact]
    public void HeaderIsJsonWithExactOffsetsPaddedToEightBytes()
    {
        using var a = tensor(new float[] { 1, 2, 3 }, [3]);
        using var b = tensor(new long[] { 9, 10 }, [1, 2]);
        using var c = tensor(new byte[] { 7 }, [1]);
        using var stream = new MemoryStream();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["method"] = "byol" };

        SafeTensors.Write(stream, [new("a", a), new("b", b), new("c", c)], metadata);

        var bytes = stream.ToArray();
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        Assert.Equal(8 + headerLength + 12 + 16 + 1, bytes.Length);
        var headerText = Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        // Only spaces may follow the JSON, and fewer than 8 of them.
        Assert.EndsWith("}", headerText.TrimEnd(' '));
        Assert.InRange(headerText.Length - headerText.TrimEnd(' ').Length, 0, 7);
        using var header = JsonDocument.Parse(headerText);
        var root = header.RootElement;

        AssertEntry(root.GetProperty("a"), "F32", [3], 0, 12);
        AssertEntry(root.GetProperty("b"), "I64", [1, 2], 12, 28);
        AssertEntry(root.GetProperty("c"), "U8", [1], 28, 29);
        Assert.Equal("pt", root.GetProperty("__metadata__").GetProperty("format").GetString());
        Assert.Equal("byol", root.GetProperty("__metadata__").GetProperty("method").GetString());

        // The data section is the raw little-endian values at those offsets.
        int data = 8 + (int)headerLength;
        Assert.Equal(2f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(data + 4)));
        Assert.Equal(10L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(data + 12 + 8)));
        Assert.Equal(7, bytes[data + 28]);
    }

    [Fact]
    public void ReadsAFileBuiltByHand()
    {
        // Laid out exactly as the Python safetensors library does: header JSON, space padding, F32 data.
        var json = """{"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
        var header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        using var stream = new MemoryStream();
        stream.Write(BitConverter.GetBytes((ulong)header.Length));
        stream.Write(header);
        stream.Write(BitConverter.GetBytes(0.25f));
        stream.Write(BitConverter.GetBytes(-8f));
        stream.Position = 0;

        var read = SafeTensors.Read(stream);

        Assert.Equal(["x"], read.Keys);
        Assert.Equal(new[] { 0.25f, -8f }, read["x"].data<float>().ToArray());
        Dispose(read);
    }

    [Fact]
    public void TruncatedOrInconsistentFilesAreRejected()
    {
        using var a = tensor(new float[] { 1, 2, 3 }, [3]);
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, [new("a", a)]);
        var bytes = stream.ToArray();

        Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new MemoryStream(bytes[..^1])));
        Assert.Throws<InvalidDataException>(() => SafeTensors.Read(new MemoryStream(bytes[..4])));

        var json = """{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""";
        var header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        var bad = new MemoryStream();
        bad.Write(BitConverter.GetBytes((ulong)header.Length));
        bad.Write(header);
        bad.Write(new byte[12]);
        bad.Position = 0;
        Assert.Throws<InvalidDataException>(() => SafeTensors.Read(bad));
    }

    [Fact]
    public void DuplicateOrReservedNamesAndUnsupportedDTypesAreRejected()
    {
        using var a = tensor(new float[] { 1 }, [1]);
        using var half = a.to_type(ScalarType.Float16);
        using var stream = new MemoryStream();

        Assert.Throws<ArgumentException>(() => SafeTensors.Write(stream, [new("a", a), new("a", a)]));
        Assert.Throws<ArgumentException>(() => SafeTensors.Write(stream, [new("__metadata__", a)]));
        Assert.Throws<NotSupportedException>(() => SafeTensors.Write(stream, [new("h", half)]));
    }

    [Fact]
    public void ReadMetadataReturnsTheMapOrNothingAndLeavesTheStreamAfterTheHeader()
    {
        using var x = ones(3);
        using var with = new MemoryStream();
        SafeTensors.Write(with, new Dictionary<string, Tensor> { ["x"] = x }, new Dictionary<string, string> { ["format"] = "pt", ["width"] = "16" });
        using var without = new MemoryStream();
        SafeTensors.Write(without, new Dictionary<string, Tensor> { ["x"] = x });

        var bytes = with.ToArray();
        Assert.Equal(new Dictionary<string, string> { ["format"] = "pt", ["width"] = "16" }, SafeTensors.ReadMetadata(bytes));
        Assert.Empty(SafeTensors.ReadMetadata(without.ToArray()));
        using var stream = new MemoryStream(bytes);
        SafeTensors.ReadMetadata(stream);
        Assert.Equal(bytes.Length - 3 * sizeof(float), stream.Position);
        Assert.Throws<InvalidDataException>(() => SafeTensors.ReadMetadata(bytes.AsSpan(0, 20).ToArray()));
    }

    private static Dictionary<string, Tensor> RoundTrip(Dictionary<string, Tensor> tensors)
    {
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, tensors, new Dictionary<string, string> { ["note"] = "test" });
        stream.Position = 0;
        return SafeTensors.Read(stream);
    }

    private static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        // Bitwise comparison: exact for every dtype, NaN and -0 included.
        using var contiguous = expected.contiguous();
        Assert.Equal(contiguous.bytes.ToArray(), actual.bytes.ToArray());
    }

    private static void AssertEntry(JsonElement entry, string dtype, long[] shape, long begin, long end)
    {
        Assert.Equal(dtype, entry.GetProperty("dtype").GetString());
        Assert.Equal(shape, entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(new[] { begin, end }, entry.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
    }

    private static void Dispose(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
    }
}
