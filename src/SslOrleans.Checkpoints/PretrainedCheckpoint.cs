using SslOrleans.Core.Export;
using SslOrleans.Core.Models;
using SslOrleans.Storage.Checkpoints;
using static TorchSharp.torch;

namespace SslOrleans.Checkpoints;

/// <summary>
/// One complete checkpoint: its manifest (step, time, metrics, files) and its files, each checked against the
/// manifest's sha256 as it is read. <see cref="LoadBackboneAsync()"/> builds the backbone by name and loads it.
/// </summary>
public sealed class PretrainedCheckpoint(CheckpointCatalog catalog, CheckpointSummary summary, byte[] manifest)
{
    public CheckpointSummary Summary => summary;

    /// <summary>manifest.json as stored (the training layer's full schema).</summary>
    public byte[] Manifest => manifest;

    public long Step => summary.Step;

    public IReadOnlyDictionary<string, double> Metrics => summary.Metrics;

    /// <summary>Where the manifest is, for messages: ".../step-00000030/manifest.json".</summary>
    public string Name => catalog.Name(summary.Step, CheckpointNames.Manifest);

    public bool HasFile(string name) => summary.Files.Any(f => f.Name == name);

    /// <summary>A file of the checkpoint, whole, after its size and sha256 matched the manifest.</summary>
    public Task<byte[]> ReadFileAsync(string name, CancellationToken cancellation = default) => catalog.ReadFileAsync(summary, name, cancellation);

    /// <summary>What the backbone is: from backbone.safetensors' metadata, or (older checkpoints) from the run's spec.</summary>
    public async Task<ModelCard> ReadModelCardAsync(CancellationToken cancellation = default) =>
        ModelCards.Of(await ReadFileAsync(CheckpointNames.Backbone, cancellation), summary, Name);

    /// <summary>Builds the backbone the checkpoint holds (resnet18, resnet50 or vit-tiny at its width and stem) and loads its weights strictly.</summary>
    public async Task<Backbone> LoadBackboneAsync(CancellationToken cancellation = default)
    {
        var bytes = await ReadFileAsync(CheckpointNames.Backbone, cancellation);
        var backbone = ModelCards.Of(bytes, summary, Name).ToOptions().Create();
        try
        {
            StateDict.LoadBytes(backbone, bytes, catalog.Name(summary.Step, CheckpointNames.Backbone));
            backbone.eval();
            return backbone;
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    /// <summary>Loads backbone.safetensors (or another safetensors file of the checkpoint) strictly into a module the caller built.</summary>
    public async Task LoadIntoAsync(nn.Module module, string name = CheckpointNames.Backbone, CancellationToken cancellation = default) =>
        StateDict.LoadBytes(module, await ReadFileAsync(name, cancellation), catalog.Name(summary.Step, name));
}
