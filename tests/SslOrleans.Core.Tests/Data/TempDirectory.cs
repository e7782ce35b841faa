using System.Buffers.Binary;
using System.IO.Compression;

namespace SslOrleans.Core.Tests.Data;

/// <summary>A throw-away directory plus helpers to write small idx files into it.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ssl-orleans-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Header (magic 0x0000 TYPE NDIM, big-endian sizes) followed by <paramref name="data"/> verbatim.</summary>
    public static byte[] Idx(int[] dims, byte[] data, byte type = 0x08)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        bytes[2] = type;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        }

        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    public string Write(string name, byte[] bytes)
    {
        var path = File(name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not fail a test.
        }
    }
}
