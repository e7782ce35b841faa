using SslOrleans.Core.Export;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Checkpoints;

/// <summary>backbone.pt (a torch.save state dict) and model.json of a checkpoint's backbone, for PyTorch users (docs/checkpoints.md).</summary>
public static class PyTorchFiles
{
    /// <summary>Writes both into <paramref name="folder"/> after loading the weights strictly into the backbone the card names.</summary>
    public static async Task<ModelCard> WriteAsync(PretrainedCheckpoint checkpoint, string folder, CancellationToken cancellation = default)
    {
        var bytes = await checkpoint.ReadFileAsync(CheckpointNames.Backbone, cancellation);
        var source = checkpoint.Name.Replace(CheckpointNames.Manifest, CheckpointNames.Backbone, StringComparison.Ordinal);
        if (ModelCard.FromMetadata(SafeTensors.ReadMetadata(bytes), source) is null)
            throw new InvalidDataException($"{source} predates the model card in its metadata (input mean and std are unknown); " +
                                           "load backbone.safetensors as docs/checkpoints.md shows, with your own normalisation");
        return PyTorchExport.Write(bytes, folder, source: source);
    }
}
