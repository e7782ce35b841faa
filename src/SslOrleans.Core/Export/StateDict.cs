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
}
