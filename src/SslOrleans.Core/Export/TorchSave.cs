using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Export;

/// <summary>
/// Writes a state dict as PyTorch's own <c>torch.save</c> file, so <c>torch.load(path, weights_only=True)</c> gives
/// back an OrderedDict of CPU tensors (checked against PyTorch 1.13, the oldest with weights_only). The file is
/// PyTorch's zip format: <c>archive/data.pkl</c> pickles
/// <c>OrderedDict([(name, torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())), ...])</c>
/// where each storage is a persistent id <c>('storage', torch.FloatStorage, key, 'cpu', numel)</c> whose bytes are
/// the record <c>archive/data/key</c>; <c>archive/version</c> is 3 and <c>archive/byteorder</c> "little" (read
/// by PyTorch 2.x, ignored by 1.13). Each tensor gets its own contiguous (row-major) storage.
/// </summary>
public static class TorchSave
{
    private const string Archive = "archive";

    // The storage classes torch.load maps to dtypes (torch/storage.py); the restricted unpickler allows them all.
    private static readonly Dictionary<ScalarType, string> StorageClasses = new()
    {
        [ScalarType.Float32] = "FloatStorage",
        [ScalarType.Float64] = "DoubleStorage",
        [ScalarType.Float16] = "HalfStorage",
        [ScalarType.BFloat16] = "BFloat16Storage",
        [ScalarType.Int64] = "LongStorage",
        [ScalarType.Int32] = "IntStorage",
        [ScalarType.Int16] = "ShortStorage",
        [ScalarType.Int8] = "CharStorage",
        [ScalarType.Byte] = "ByteStorage",
        [ScalarType.Bool] = "BoolStorage",
    };

    /// <summary>Writes the tensors in enumeration order (names must be unique and non-empty); the stream is left open.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(stateDict);
        // Storage bytes are copied verbatim and declared little-endian.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("torch.save files are written on little-endian machines only");

        using var scope = NewDisposeScope();
        var storages = new List<Tensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var pickle = new PickleWriter()
            .WriteGlobal("collections", "OrderedDict").WriteEmptyTuple().WriteReduce()
            .WriteMark();
        foreach (var (name, tensor) in stateDict)
        {
            ArgumentNullException.ThrowIfNull(tensor, name);
            if (string.IsNullOrEmpty(name) || !names.Add(name))
                throw new ArgumentException($"tensor name '{name}' is empty or duplicated", nameof(stateDict));
            if (!StorageClasses.TryGetValue(tensor.dtype, out var storageClass))
                throw new NotSupportedException($"tensor '{name}' has dtype {tensor.dtype}; supported: {string.Join(", ", StorageClasses.Keys)}");

            var data = tensor.detach().cpu().contiguous();
            var key = storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            storages.Add(data);
            pickle.WriteString(name)
                .WriteGlobal("torch._utils", "_rebuild_tensor_v2")
                .WriteMark()
                    .WriteMark()
                        .WriteString("storage").WriteGlobal("torch", storageClass).WriteString(key).WriteString("cpu").WriteInt(data.numel())
                    .WriteTuple().WritePersistentId()
                    .WriteInt(0)
                    .WriteIntTuple(data.shape)
                    .WriteIntTuple(RowMajorStrides(data.shape))
                    .WriteFalse()
                    .WriteGlobal("collections", "OrderedDict").WriteEmptyTuple().WriteReduce()
                .WriteTuple().WriteReduce();
        }
        var dataPkl = pickle.WriteSetItems().Finish();

        var zip = new StoredZipWriter(stream);
        zip.Add($"{Archive}/data.pkl", dataPkl);
        zip.Add($"{Archive}/byteorder", Encoding.ASCII.GetBytes("little"));
        for (int i = 0; i < storages.Count; i++)
            zip.Add($"{Archive}/data/{i}", storages[i].numel() == 0 ? [] : storages[i].bytes);
        zip.Add($"{Archive}/version", Encoding.ASCII.GetBytes("3\n"));
        zip.Finish();
    }

    /// <summary>Strides in elements of a contiguous tensor: the last dimension moves by 1, each earlier one by the product of the sizes after it.</summary>
    internal static long[] RowMajorStrides(IReadOnlyList<long> shape)
    {
        var strides = new long[shape.Count];
        long step = 1;
        for (int d = shape.Count - 1; d >= 0; d--)
        {
            strides[d] = step;
            step *= Math.Max(shape[d], 1);
        }
        return strides;
    }
}
