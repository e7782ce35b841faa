using System.Text;
using static TorchSharp.torch;

namespace SslOrleans.Core.Export;

/// <summary>
/// Turns an exported backbone.safetensors into what a PyTorch user loads without SslOrleans: backbone.pt (a
/// torch.save state dict, <see cref="TorchSave"/>) and model.json (<see cref="ModelCard"/>), side by side in a
/// folder. docs/checkpoints.md shows the Python side.
/// </summary>
public static class PyTorchExport
{
    public const string StateDictFile = "backbone.pt";
    public const string CardFile = "model.json";

    /// <summary>
    /// Writes <see cref="StateDictFile"/> and <see cref="CardFile"/> into <paramref name="folder"/> (created when
    /// missing; files there are replaced) and returns the card. The card comes from the file's metadata; <paramref
    /// name="fallback"/> is used only when the metadata has none of its fields (a backbone exported before they were
    /// added). Before anything is written the weights are loaded strictly into the backbone the card describes, so
    /// model.json never names an architecture the weights do not fit. Bad input is an <see
    /// cref="InvalidDataException"/> naming <paramref name="source"/> (the file the bytes came from).
    /// </summary>
    public static ModelCard Write(byte[] safetensors, string folder, ModelCard? fallback = null, string source = "backbone.safetensors")
    {
        ArgumentNullException.ThrowIfNull(safetensors);
        ArgumentException.ThrowIfNullOrEmpty(folder);
        fallback?.Validate();

        using var scope = NewDisposeScope();
        Dictionary<string, string> metadata;
        Dictionary<string, Tensor> tensors;
        try
        {
            metadata = SafeTensors.ReadMetadata(safetensors);
            using var stream = new MemoryStream(safetensors, writable: false);
            tensors = SafeTensors.Read(stream);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }

        var card = ModelCard.FromMetadata(metadata, source)
            ?? fallback
            ?? throw new InvalidDataException(
                $"{source}: its metadata has no model card fields (backbone, width, stem, ...), as in backbones exported before they were added; " +
                "pass the card of the run that trained it");
        card = card with { StateDict = StateDictFile, Method = card.Method ?? metadata.GetValueOrDefault("method") };

        using (var backbone = card.ToOptions().Create())
        {
            StateDict.LoadStrict(backbone, tensors, source);
        }

        Directory.CreateDirectory(folder);
        WriteReplacing(Path.Combine(folder, StateDictFile), stream => TorchSave.Write(stream, tensors));
        WriteReplacing(Path.Combine(folder, CardFile), stream => stream.Write(Encoding.UTF8.GetBytes(card.ToJson() + "\n")));
        return card;
    }

    // Write then rename, so a reader never sees half a file under the final name.
    private static void WriteReplacing(string file, Action<Stream> write)
    {
        var temporary = file + ".tmp";
        using (var stream = File.Create(temporary))
        {
            write(stream);
        }
        File.Move(temporary, file, overwrite: true);
    }
}
