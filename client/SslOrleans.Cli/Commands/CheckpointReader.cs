using System.Text.Json;
using SslOrleans.Abstractions.Checkpoints;
using SslOrleans.Core.Export;
using SslOrleans.Storage.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// A checkpoint as the CLI reads it: its manifest (found like `sslo checkpoint verify` finds it) and its exported
/// backbone. Every problem is an exception the CLI reports as bad input, naming the file.
/// </summary>
public sealed class CheckpointReader
{
    private CheckpointReader(string manifestPath, CheckpointManifest manifest)
    {
        ManifestPath = manifestPath;
        Manifest = manifest;
    }

    public string ManifestPath { get; }

    public CheckpointManifest Manifest { get; }

    /// <param name="path">A run folder (its latest checkpoint), a step folder or a manifest.json.</param>
    public static CheckpointReader Open(string path)
    {
        var manifestPath = Path.GetFullPath(CheckpointVerifier.ResolveManifest(path));
        // 'latest' may name a step folder that is gone.
        if (!File.Exists(manifestPath)) throw new FileNotFoundException($"{path}: its manifest {manifestPath} does not exist", manifestPath);
        CheckpointManifest manifest;
        try
        {
            manifest = ManifestJson.Deserialize(File.ReadAllBytes(manifestPath), manifestPath);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{manifestPath}: not a checkpoint manifest: {e.Message}", e);
        }
        if (manifest.Spec is null) throw new InvalidDataException($"{manifestPath}: the manifest has no spec");
        return new CheckpointReader(manifestPath, manifest);
    }

    /// <summary>Loads backbone.safetensors into <paramref name="backbone"/> strictly, after checking its sha256 against the manifest.</summary>
    public void LoadBackbone(nn.Module backbone) => Load(backbone, CheckpointNames.Backbone);

    /// <summary>Whether the checkpoint holds an online probe (runs since the probe was added do).</summary>
    public bool HasOnlineProbe => Manifest.Files?.Any(f => f.Name == CheckpointNames.OnlineProbe) == true;

    /// <summary>Loads online_probe.safetensors into <paramref name="probe"/> strictly.</summary>
    public void LoadOnlineProbe(nn.Module probe) => Load(probe, CheckpointNames.OnlineProbe);

    private void Load(nn.Module module, string name)
    {
        var file = Path.Combine(Path.GetDirectoryName(ManifestPath)!, name);
        if (!File.Exists(file)) throw new FileNotFoundException($"{file} does not exist; the checkpoint has no {name}", file);
        var digest = Manifest.Files?.FirstOrDefault(f => f.Name == name);
        StateDict.LoadFile(module, file, digest is null ? null : (digest.Bytes, digest.Sha256), "the manifest");
    }
}
