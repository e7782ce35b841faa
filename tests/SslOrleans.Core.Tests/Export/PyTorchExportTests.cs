using SslOrleans.Core.Export;
using SslOrleans.Core.Models;
using SslOrleans.Tests.Shared;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Export;

/// <summary>
/// The consumer's path: a backbone exported as the worker does (weights + model card metadata), turned into
/// backbone.pt + model.json by <see cref="PyTorchExport"/>, loaded by the Python snippet of docs/checkpoints.md run
/// verbatim with Debian's torch 1.13 and torchvision, computes TorchSharp's features.
/// </summary>
public sealed class PyTorchExportTests
{
    [Theory]
    [InlineData("resnet18", 16, "cifar", 3)]
    [InlineData("resnet50", 8, "imagenet", 1)]
    public void The_documented_snippet_loads_the_export_and_computes_the_same_features(string name, int width, string stem, int channels)
    {
        var dir = Directory.CreateTempSubdirectory("sslo-pytorch-export").FullName;
        var options = new BackboneOptions(name, width, channels, stem, ImageSize: 32);
        var mean = new[] { 0.2860406f, 0.48f, 0.45f }[..channels];
        var std = new[] { 0.3530242f, 0.24f, 0.26f }[..channels];
        var card = ModelCard.From(options, mean, std, "byol");

        manual_seed(5);
        using var backbone = options.Create();
        using var input = rand(4, channels, 32, 32);
        Tensor features;
        using (no_grad())
        {
            // Move the batch-norm running statistics away from their initial values, as training does.
            backbone.train();
            backbone.forward(Normalize(rand(16, channels, 32, 32) * 2, mean, std));
            backbone.eval();
            features = backbone.forward(Normalize(input, mean, std));
        }
        byte[] exported;
        using (var stream = new MemoryStream())
        {
            SafeTensors.Write(stream, backbone.state_dict(), card.ToMetadata()); // as WorkerGrain.ExportBackboneAsync does
            exported = stream.ToArray();
        }
        using (var f = File.Create(Path.Combine(dir, "case.safetensors")))
            SafeTensors.Write(f, new Dictionary<string, Tensor> { ["input"] = input, ["features"] = features });
        features.Dispose();

        var written = PyTorchExport.Write(exported, Path.Combine(dir, "export"));

        Assert.Equal(card, written);
        Assert.Equal(card, ModelCard.FromJson(File.ReadAllText(Path.Combine(dir, "export", PyTorchExport.CardFile))));
        var script = Path.Combine(dir, "snippet.py");
        File.WriteAllText(script, DocsSnippet.Script(Path.Combine(dir, "export")));
        var (exitCode, output) = Python.Run(script, Path.Combine(dir, "case.safetensors"));
        Assert.True(exitCode == 0, output);
        Assert.Contains("max |diff|", output);
    }

    [Fact]
    public void A_backbone_without_card_metadata_needs_a_fallback_card_that_fits_its_weights()
    {
        var dir = Directory.CreateTempSubdirectory("sslo-pytorch-old").FullName;
        var options = new BackboneOptions("resnet18", 4, 1);
        using var backbone = options.Create();
        byte[] old;
        using (var stream = new MemoryStream())
        {
            // The metadata workers wrote before the card's fields were added.
            SafeTensors.Write(stream, backbone.state_dict(), new Dictionary<string, string> { ["format"] = "pt", ["architecture"] = options.Architecture, ["method"] = "simclr" });
            old = stream.ToArray();
        }
        var fallback = ModelCard.From(options, 0.5f, 0.25f);

        var none = Assert.Throws<InvalidDataException>(() => PyTorchExport.Write(old, dir, source: "runs/a/step-00000010/backbone.safetensors"));
        var wrong = Assert.Throws<InvalidDataException>(() => PyTorchExport.Write(old, dir, ModelCard.From(options with { Width = 8 }, 0.5f, 0.25f), "runs/a/step-00000010/backbone.safetensors"));
        Assert.False(File.Exists(Path.Combine(dir, PyTorchExport.StateDictFile))); // nothing written for a bad input
        var card = PyTorchExport.Write(old, dir, fallback);

        Assert.StartsWith("runs/a/step-00000010/backbone.safetensors: ", none.Message);
        Assert.Contains("no model card", none.Message);
        Assert.StartsWith("runs/a/step-00000010/backbone.safetensors: ", wrong.Message);
        Assert.Contains("conv1.weight", wrong.Message);
        Assert.Equal(fallback with { Method = "simclr" }, card);
        Assert.True(File.Exists(Path.Combine(dir, PyTorchExport.StateDictFile)));
    }

    [Fact]
    public void A_damaged_file_is_an_error_naming_it()
    {
        var dir = Directory.CreateTempSubdirectory("sslo-pytorch-bad").FullName;
        var e = Assert.Throws<InvalidDataException>(() => PyTorchExport.Write([1, 2, 3], dir, source: "x/backbone.safetensors"));
        Assert.StartsWith("x/backbone.safetensors: ", e.Message);
    }

    private static Tensor Normalize(Tensor images, float[] mean, float[] std)
    {
        using var m = tensor(mean).view(1, -1, 1, 1);
        using var s = tensor(std).view(1, -1, 1, 1);
        return (images - m) / s;
    }
}
