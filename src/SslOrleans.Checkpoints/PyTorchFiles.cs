using SslOrleans.Core.Export;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Checkpoints;

/// <summary>backbone.pt (a torch.save state dict) and model.json of a checkpoint's backbone, for PyTorch users (docs/checkpoints.md).</summary>
public static class PyTorchFiles
{
    /// <summary>Writes both into <paramref name="folder"/> after loading the weights strictly into the backbone the card
    /// in backbone.safetensors' metadata names (a backbone exported before the card was recorded is an error naming it).</summary>
    public static async Task<ModelCard> WriteAsync(PretrainedCheckpoint checkpoint, string folder, CancellationToken cancellation = default)
    {
        var bytes = await checkpoint.ReadFileAsync(CheckpointNames.Backbone, cancellation);
        var source = checkpoint.Name.Replace(CheckpointNames.Manifest, CheckpointNames.Backbone, StringComparison.Ordinal);
        return PyTorchExport.Write(bytes, folder, source: source);
    }
}
