using System.Text.RegularExpressions;
using SslOrleans.Core.Export;
using SslOrleans.Core.Models;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Export;

/// <summary>
/// The consumer's path: a backbone exported as the worker does (weights + model card metadata), turned into
/// backbone.pt + model.json by <see cref="PyTorchExport"/>, loaded by the Python snippet of docs/checkpoints.md run
/// verbatim with Debian's torch 1.13 and torchvision, computes TorchSharp's features.
/// </summary>
public sealed class PyTorchExportTests
{
    private const string SnippetStart = "<!-- snippet: load-pytorch -->";
    private const string SnippetEnd = "<!-- /snippet -->";

    // Appended to the snippet: reads the case file with the standard library (as tests/interop/load_backbone.py does)
    // and compares the snippet's features(...) on the raw [0, 1] input with the features TorchSharp computed.
    private const string Check = """

        # --- appended by PyTorchExportTests ---
        import json
        import struct
        import sys

        def load_safetensors(path):
            with open(path, "rb") as f:
                data = f.read()
            (n,) = struct.unpack("<Q", data[:8])
            header = json.loads(data[8:8 + n])
            header.pop("__metadata__", None)
            return {name: torch.frombuffer(bytearray(data[8 + n + info["data_offsets"][0]:8 + n + info["data_offsets"][1]]),
                                           dtype=torch.float32).reshape(info["shape"]).clone() for name, info in header.items()}

        case = load_safetensors(sys.argv[1])
        got = features(case["input"])
        expected = case["features"]
        assert tuple(got.shape) == tuple(expected.shape) == (expected.shape[0], card["feature_dim"]), (got.shape, expected.shape)
        scale = expected.abs().max().item()
        diff = (got - expected).abs().max().item()
        print(f"torch {torch.__version__}: {card['backbone']} width {card['width']} {card['stem']}: {len(state)} tensors, "
              f"features {tuple(got.shape)}, max |diff| {diff:.3g} (scale {scale:.3g})")
        sys.exit(0 if diff <= 1e-4 * max(1.0, scale) else 1)
        """;

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
        File.WriteAllText(script, Snippet(Path.Combine(dir, "export")) + Check);
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

    /// <summary>The python block between the snippet markers of docs/checkpoints.md, its <c>folder = "DIR"</c> line pointed at <paramref name="folder"/>.</summary>
    private static string Snippet(string folder)
    {
        var doc = File.ReadAllText(Path.Combine(Python.RepositoryRoot(), "docs", "checkpoints.md"));
        var match = Regex.Match(doc, Regex.Escape(SnippetStart) + @"\s*```python\n(?<code>.*?)```\s*" + Regex.Escape(SnippetEnd), RegexOptions.Singleline);
        Assert.True(match.Success, $"docs/checkpoints.md has no ```python block between {SnippetStart} and {SnippetEnd}");
        var code = match.Groups["code"].Value;
        var folderLine = new Regex("""^folder = "DIR".*$""", RegexOptions.Multiline);
        Assert.True(folderLine.Matches(code).Count == 1, "the snippet must set folder = \"DIR\" exactly once");
        return folderLine.Replace(code, $"folder = {System.Text.Json.JsonSerializer.Serialize(folder)}");
    }

    private static Tensor Normalize(Tensor images, float[] mean, float[] std)
    {
        using var m = tensor(mean).view(1, -1, 1, 1);
        using var s = tensor(std).view(1, -1, 1, 1);
        return (images - m) / s;
    }
}
