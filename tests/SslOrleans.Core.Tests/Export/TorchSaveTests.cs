using System.Globalization;
using SslOrleans.Core.Export;
using static TorchSharp.torch;

using SslOrleans.Tests.Shared;

namespace SslOrleans.Core.Tests.Export;

/// <summary>
/// TorchSave's files as PyTorch reads them: Debian's torch 1.13 loads them (weights_only=True and plain) into
/// exactly the tensors written; tests/interop/check_torch_save.py does the checking.
/// </summary>
public sealed class TorchSaveTests
{
    [Fact]
    public void Torch_loads_every_tensor_exactly()
    {
        manual_seed(3);
        using var matrix = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        var tensors = new List<(string Name, Tensor Value, Tensor Expected, string TorchDType)>
        {
            ("conv.weight", randn(4, 3, 3, 3), null!, "torch.float32"),
            ("transposed", matrix.t(), null!, "torch.float32"), // not contiguous: written in logical (row-major) order
            ("doubles", tensor(new[] { Math.PI, -1e300, double.Epsilon, 0 }), null!, "torch.float64"),
            ("bn.num_batches_tracked", tensor((1L << 40) + 3), null!, "torch.int64"), // 0-d, beyond int32
            ("longs", tensor(new[] { long.MinValue, -1L, long.MaxValue }), null!, "torch.int64"),
            ("ints", tensor(new[] { int.MinValue, -2, 7, int.MaxValue, 0, 1 }, [3, 2]), null!, "torch.int32"),
            ("scalar", tensor(2.5f), null!, "torch.float32"), // 0-d: size (), stride ()
            ("empty", zeros([2, 0, 3], ScalarType.Float32), null!, "torch.float32"),
            ("big", rand(300, 300), null!, "torch.float32"), // numel 90 000: sizes beyond BININT2
            ("pixels", tensor(new byte[] { 0, 255, 17 }), null!, "torch.uint8"),
            ("halves", tensor(new[] { 0.5f, -2f, 65504f }).to(ScalarType.Float16), tensor(new[] { 0.5f, -2f, 65504f }), "torch.float16"),
            ("mask", tensor(new[] { true, false, true }), tensor(new byte[] { 1, 0, 1 }), "torch.bool"),
            ("shorts", tensor(new short[] { -300, 300 }), tensor(new[] { -300, 300 }), "torch.int16"),
        };
        var dir = Directory.CreateTempSubdirectory("sslo-torchsave").FullName;
        var pt = Path.Combine(dir, "state.pt");
        var casePath = Path.Combine(dir, "case.safetensors");
        using (var f = File.Create(pt))
            TorchSave.Write(f, tensors.Select(t => KeyValuePair.Create(t.Name, t.Value)));
        using (var f = File.Create(casePath))
            SafeTensors.Write(f, tensors.Select(t => KeyValuePair.Create(t.Name, t.Expected ?? t.Value)), tensors.ToDictionary(t => t.Name, t => t.TorchDType));

        var (exitCode, output) = Python.Run(Path.Combine(Python.RepositoryRoot(), "tests", "interop", "check_torch_save.py"), pt, casePath);
        Assert.True(exitCode == 0, output);
        Assert.Contains($"{tensors.Count} tensors checked, 0 problems", output);
        foreach (var t in tensors)
        {
            t.Value.Dispose();
            t.Expected?.Dispose();
        }
    }

    [Fact]
    public void Writes_the_same_bytes_for_the_same_tensors()
    {
        using var a = arange(10, dtype: ScalarType.Float32);
        using var b = tensor(5L);
        byte[] Save()
        {
            using var stream = new MemoryStream();
            TorchSave.Write(stream, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b });
            return stream.ToArray();
        }
        Assert.Equal(Save(), Save());
    }

    [Fact]
    public void Refuses_duplicated_names_and_unsupported_dtypes()
    {
        using var c = tensor(new[] { 1f }).to(ScalarType.ComplexFloat32);
        using var x = tensor(1f);
        Assert.Throws<NotSupportedException>(() => TorchSave.Write(Stream.Null, new Dictionary<string, Tensor> { ["c"] = c }));
        Assert.Throws<ArgumentException>(() => TorchSave.Write(Stream.Null, [KeyValuePair.Create("x", x), KeyValuePair.Create("x", x)]));
    }

    [Theory]
    [InlineData(new long[] { }, new long[] { })]
    [InlineData(new long[] { 5 }, new long[] { 1 })]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 12, 4, 1 })]
    [InlineData(new long[] { 2, 0, 3 }, new long[] { 3, 3, 1 })] // as PyTorch: an empty dimension counts as 1
    public void Strides_are_row_major(long[] shape, long[] strides) => Assert.Equal(strides, TorchSave.RowMajorStrides(shape));

    [Fact]
    public void Pickled_integers_read_back_in_Python()
    {
        long[] values = [0, 1, 255, 256, 65535, 65536, -1, -256, int.MaxValue, int.MinValue, 1L + int.MaxValue, -1L + int.MinValue,
            1L << 40, -(1L << 40), long.MaxValue, long.MinValue, 128, 32768, 1L << 31, 1L << 62];
        var file = Path.Combine(Directory.CreateTempSubdirectory("sslo-pickle").FullName, "ints.pkl");
        File.WriteAllBytes(file, new PickleWriter().WriteIntTuple(values).Finish());

        var (exitCode, output) = Python.Run("-c", "import pickle, sys; print(repr(pickle.load(open(sys.argv[1], 'rb'))))", file);

        Assert.True(exitCode == 0, output);
        Assert.Equal($"({string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)))})", output.Trim());
    }
}
