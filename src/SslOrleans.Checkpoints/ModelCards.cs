using SslOrleans.Core.Export;
using SslOrleans.Core.Models;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Checkpoints;

/// <summary>The model card of a checkpoint's backbone: from backbone.safetensors' metadata, or for checkpoints exported
/// before the metadata carried it, from the run's spec (Fashion-MNIST's one channel and 28-pixel side).</summary>
internal static class ModelCards
{
    public static ModelCard Of(byte[] backbone, CheckpointSummary summary, string source) =>
        ModelCard.FromMetadata(SafeTensors.ReadMetadata(backbone), source) ?? FromSpec(summary, source, mean: float.NaN, std: float.NaN);

    /// <summary>The backbone as the spec describes it; mean and std unknown (NaN) unless given.</summary>
    public static ModelCard FromSpec(CheckpointSummary summary, string source, float mean, float std)
    {
        var dataset = summary.SpecString("dataset");
        if (dataset != "fashion-mnist")
            throw new InvalidDataException($"{source}: its metadata does not describe the backbone and the run's dataset '{dataset}' is not one whose input this program knows");
        var method = summary.SpecString("method");
        var options = new BackboneOptions(
            summary.SpecString("backbone") ?? (method is "mae" or "beit" ? "vit-tiny" : "resnet18"),
            (int)(summary.SpecNumber("width") ?? 64), InputChannels: 1, summary.SpecString("stem") ?? "cifar",
            (int)(summary.SpecNumber("patch_size") ?? 4), ImageSize: 28, Pool: method is "mae" or "beit" ? "mean" : "cls");
        options.Validate();
        return new ModelCard(options.Name, options.Width, options.Stem, options.InputChannels, options.ImageSize, options.PatchSize, options.Pool,
            options.FeatureDim, [mean], [std], Method: method);
    }
}
