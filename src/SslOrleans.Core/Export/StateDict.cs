using System.Security.Cryptography;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Export;

/// <summary>Loading saved tensors into a module, PyTorch's <c>load_state_dict(strict=True)</c>.</summary>
public static class StateDict
{
    /// <summary>
    /// Copies <paramref name="tensors"/> into <paramref name="module"/>'s parameters and buffers. Strict: every key of
    /// the module must be present with the same shape and dtype, and no other key may be; the first problem is an
    /// <see cref="InvalidDataException"/> that names <paramref name="source"/> and the key. Nothing is copied unless
    /// everything matches, so a failed load leaves the module as it was.
    /// </summary>
    public static void LoadStrict(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(tensors);
        var expected = module.state_dict();
        foreach (var (name, target) in expected)
        {
            if (!tensors.TryGetValue(name, out var value))
                throw new InvalidDataException($"{source}: tensor '{name}' is missing (the model has {expected.Count} tensors, the file {tensors.Count})");
            if (!value.shape.SequenceEqual(target.shape))
                throw new InvalidDataException($"{source}: tensor '{name}' has shape [{string.Join(", ", value.shape)}], the model wants [{string.Join(", ", target.shape)}]");
            if (value.dtype != target.dtype)
                throw new InvalidDataException($"{source}: tensor '{name}' is {value.dtype}, the model wants {target.dtype}");
        }
        var unexpected = tensors.Keys.FirstOrDefault(k => !expected.ContainsKey(k));
        if (unexpected is not null)
            throw new InvalidDataException($"{source}: tensor '{unexpected}' is not part of the model");

        using var noGrad = no_grad();
        foreach (var (name, target) in expected) target.copy_(tensors[name]);
    }

    /// <summary>
    /// Loads a safetensors file into <paramref name="module"/> strictly (<see cref="LoadStrict"/>), after checking its
    /// size and sha256 against <paramref name="expected"/> when given. Every problem is an exception naming the file;
    /// <paramref name="expectedBy"/> says who recorded the digest (a manifest, a tokenizer.json).
    /// </summary>
    public static void LoadFile(nn.Module module, string file, (long Bytes, string Sha256)? expected, string expectedBy)
    {
        ArgumentNullException.ThrowIfNull(module);
        LoadBytes(module, ReadVerified(file, expected, expectedBy), file);
    }

    /// <summary>Loads safetensors bytes into <paramref name="module"/> strictly; errors name <paramref name="source"/>.</summary>
    public static void LoadBytes(nn.Module module, byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(module);
        Dictionary<string, Tensor> tensors;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            tensors = SafeTensors.Read(stream);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
        try
        {
            LoadStrict(module, tensors, source);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>The bytes of <paramref name="file"/>, after checking its size and sha256 against <paramref name="expected"/> when given.</summary>
    public static byte[] ReadVerified(string file, (long Bytes, string Sha256)? expected, string expectedBy)
    {
        if (!File.Exists(file)) throw new FileNotFoundException($"{file} does not exist; {expectedBy} names it", file);
        var bytes = File.ReadAllBytes(file);
        if (expected is { } digest)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (sha != digest.Sha256 || bytes.LongLength != digest.Bytes)
                throw new InvalidDataException($"{file}: {bytes.LongLength} bytes with sha256 {sha}, but {expectedBy} says {digest.Bytes} bytes with sha256 {digest.Sha256}");
        }
        return bytes;
    }
}
