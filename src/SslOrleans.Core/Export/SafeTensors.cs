using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Export;

/// <summary>
/// The safetensors format (https://github.com/huggingface/safetensors), so exported weights load directly in
/// Python (safetensors / PyTorch / lightly) without pickle: an 8-byte little-endian header length, a JSON
/// header {"name":{"dtype","shape","data_offsets":[begin,end]}, "__metadata__":{string:string}} padded with
/// spaces to a multiple of 8, then the raw little-endian tensor bytes, offsets relative to the data start.
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";

    // Same cap as the reference implementation: a larger header is a corrupt or hostile file.
    private const long MaxHeaderBytes = 100_000_000;

    private static readonly (ScalarType Type, string Name, int Size)[] DTypes =
    [
        (ScalarType.Float32, "F32", 4),
        (ScalarType.Float64, "F64", 8),
        (ScalarType.Int64, "I64", 8),
        (ScalarType.Int32, "I32", 4),
        (ScalarType.Byte, "U8", 1),
    ];

    /// <summary>Writes the tensors in enumeration order; the stream is left open.</summary>
    public static void Write(
        Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        RequireLittleEndian();

        using var scope = NewDisposeScope();
        var entries = new List<(string Name, string DType, long[] Shape, Tensor Data, long Begin, long End)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            ArgumentNullException.ThrowIfNull(tensor, name);
            if (string.IsNullOrEmpty(name) || name == MetadataKey || !names.Add(name))
            {
                throw new ArgumentException($"tensor name '{name}' is empty, reserved or duplicated", nameof(tensors));
            }

            var (_, dtypeName, size) = Lookup(tensor.dtype, name);
            var data = tensor.detach().cpu().contiguous();
            long length = data.numel() * size;
            entries.Add((name, dtypeName, data.shape, data, offset, offset + length));
            offset += length;
        }

        var header = BuildHeader(entries.Select(e => (e.Name, e.DType, e.Shape, e.Begin, e.End)), metadata);
        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)header.Length);
        stream.Write(lengthBytes);
        stream.Write(header);
        foreach (var entry in entries)
        {
            if (entry.End > entry.Begin)
            {
                stream.Write(entry.Data.bytes);
            }
        }
    }

    /// <summary>Reads every tensor (on the CPU) in header order; <c>__metadata__</c> is validated and skipped.</summary>
    public static Dictionary<string, Tensor> Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        RequireLittleEndian();

        var entries = ParseHeader(ReadHeader(stream));

        // Data is laid out without holes or overlaps; reading in offset order lets us stream it.
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        long expected = 0;
        try
        {
            foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                if (e.Begin != expected)
                {
                    throw new InvalidDataException(
                        $"safetensors tensor '{e.Name}' starts at {e.Begin} but the previous data ends at {expected} (hole or overlap)");
                }

                var tensor = empty(e.Shape, e.Type);
                result.Add(e.Name, tensor);
                if (e.End > e.Begin)
                {
                    ReadExactly(stream, tensor.bytes, $"the {e.End - e.Begin} data bytes of '{e.Name}'");
                }

                expected = e.End;
            }
        }
        catch
        {
            foreach (var t in result.Values)
            {
                t.Dispose();
            }

            throw;
        }

        // Return in header order (the order the writer chose), not offset order.
        return entries.ToDictionary(e => e.Name, e => result[e.Name], StringComparer.Ordinal);
    }

    /// <summary>
    /// The <c>__metadata__</c> map of the header (empty when the file has none), without reading any tensor data:
    /// the stream is left just after the header. The tensor entries are validated as <see cref="Read"/> does.
    /// </summary>
    public static Dictionary<string, string> ReadMetadata(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = ReadHeader(stream);
        ParseHeader(header);
        using var document = JsonDocument.Parse(header);
        return document.RootElement.TryGetProperty(MetadataKey, out var metadata)
            ? metadata.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
    }

    /// <inheritdoc cref="ReadMetadata(Stream)"/>
    public static Dictionary<string, string> ReadMetadata(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        using var stream = new MemoryStream(file, writable: false);
        return ReadMetadata(stream);
    }

    private static byte[] ReadHeader(Stream stream)
    {
        Span<byte> lengthBytes = stackalloc byte[8];
        ReadExactly(stream, lengthBytes, "the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > MaxHeaderBytes)
        {
            throw new InvalidDataException($"safetensors header length {headerLength} is out of range (1..{MaxHeaderBytes})");
        }

        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, $"the {headerLength}-byte header");
        return headerBytes;
    }

    private static byte[] BuildHeader(
        IEnumerable<(string Name, string DType, long[] Shape, long Begin, long End)> entries,
        IReadOnlyDictionary<string, string>? metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            foreach (var e in entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.DType);
                json.WriteStartArray("shape");
                foreach (var d in e.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(e.Begin);
                json.WriteNumberValue(e.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        // Padding to 8 bytes keeps the data start aligned for readers that map the file (the format requires spaces).
        int padding = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < padding; i++)
        {
            buffer.WriteByte((byte)' ');
        }

        return buffer.ToArray();
    }

    private static List<(string Name, ScalarType Type, long[] Shape, long Begin, long End)> ParseHeader(byte[] header)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"safetensors header is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException("safetensors header is not a JSON object");
            }

            var entries = new List<(string, ScalarType, long[], long, long)>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (property.Value.ValueKind != JsonValueKind.Object ||
                        property.Value.EnumerateObject().Any(p => p.Value.ValueKind != JsonValueKind.String))
                    {
                        throw new InvalidDataException("safetensors __metadata__ must map strings to strings");
                    }

                    continue;
                }

                entries.Add(ParseEntry(property));
            }

            return entries;
        }
    }

    private static (string, ScalarType, long[], long, long) ParseEntry(JsonProperty property)
    {
        var name = property.Name;
        try
        {
            var value = property.Value;
            var dtypeName = value.GetProperty("dtype").GetString();
            var match = Array.FindIndex(DTypes, d => d.Name == dtypeName);
            if (match < 0)
            {
                throw new NotSupportedException(
                    $"safetensors tensor '{name}' has dtype {dtypeName}; supported: {string.Join(", ", DTypes.Select(d => d.Name))}");
            }

            var shape = value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offsets.Length != 2 || shape.Any(d => d < 0))
            {
                throw new InvalidDataException($"safetensors tensor '{name}' has a malformed shape or data_offsets");
            }

            long elements = shape.Aggregate(1L, (a, d) => checked(a * d));
            long bytes = checked(elements * DTypes[match].Size);
            if (offsets[0] < 0 || offsets[1] - offsets[0] != bytes)
            {
                throw new InvalidDataException(
                    $"safetensors tensor '{name}' has data_offsets [{offsets[0]}, {offsets[1]}] but shape " +
                    $"[{string.Join(", ", shape)}] of {dtypeName} needs {bytes} bytes");
            }

            if (bytes > Array.MaxLength)
            {
                throw new NotSupportedException($"safetensors tensor '{name}' is larger than 2 GB");
            }

            return (name, DTypes[match].Type, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new InvalidDataException($"safetensors tensor '{name}' has a malformed header entry: {e.Message}", e);
        }
    }

    private static (ScalarType Type, string Name, int Size) Lookup(ScalarType type, string tensorName)
    {
        foreach (var d in DTypes)
        {
            if (d.Type == type)
            {
                return d;
            }
        }

        throw new NotSupportedException(
            $"tensor '{tensorName}' has dtype {type}; supported: {string.Join(", ", DTypes.Select(d => d.Type))}");
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string what)
    {
        int got = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (got < buffer.Length)
        {
            throw new InvalidDataException($"safetensors file is truncated: expected {what}, found only {got} bytes");
        }
    }

    // The format is little-endian and we copy tensor memory verbatim.
    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors I/O needs a little-endian machine");
        }
    }
}
