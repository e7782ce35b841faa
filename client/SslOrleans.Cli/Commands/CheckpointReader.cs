using System.Text.Json;
using SslOrleans.Abstractions.Checkpoints;
using SslOrleans.Checkpoints;
using SslOrleans.Grains.Checkpoints;
using SslOrleans.Storage.Checkpoints;
using static TorchSharp.torch;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// A checkpoint as the CLI reads it: its manifest in the training layer's schema and its files, from a folder or
/// az:// (<see cref="CheckpointSource"/>). Every problem is an exception the CLI reports as bad input, naming the file.
/// </summary>
public sealed class CheckpointReader
{
    private readonly PretrainedCheckpoint checkpoint;

    private CheckpointReader(PretrainedCheckpoint checkpoint, CheckpointManifest manifest)
    {
        this.checkpoint = checkpoint;
        Manifest = manifest;
    }

    public string ManifestPath => checkpoint.Name;

    public CheckpointManifest Manifest { get; }

    /// <param name="path">A run folder or az://… (its latest checkpoint), a step folder or a manifest.json.</param>
    public static CheckpointReader Open(string path, long? step = null)
    {
        var checkpoint = CheckpointSource.Open(path).OpenAsync(step).GetAwaiter().GetResult();
        CheckpointManifest manifest;
        try
        {
            manifest = ManifestJson.Deserialize(checkpoint.Manifest, checkpoint.Name);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{checkpoint.Name}: not a checkpoint manifest: {e.Message}", e);
        }
        if (manifest.Spec is null) throw new InvalidDataException($"{checkpoint.Name}: the manifest has no spec");
        return new CheckpointReader(checkpoint, manifest);
    }

    /// <summary>Loads backbone.safetensors into <paramref name="backbone"/> strictly, after checking its sha256 against the manifest.</summary>
    public void LoadBackbone(nn.Module backbone) => checkpoint.LoadIntoAsync(backbone).GetAwaiter().GetResult();

    /// <summary>Whether the checkpoint holds an online probe (runs since the probe was added do).</summary>
    public bool HasOnlineProbe => checkpoint.HasFile(CheckpointNames.OnlineProbe);

    /// <summary>Loads online_probe.safetensors into <paramref name="probe"/> strictly.</summary>
    public void LoadOnlineProbe(nn.Module probe) => checkpoint.LoadIntoAsync(probe, CheckpointNames.OnlineProbe).GetAwaiter().GetResult();
}
