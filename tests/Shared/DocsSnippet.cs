using System.Text.RegularExpressions;

namespace SslOrleans.Tests.Shared;

/// <summary>
/// The PyTorch loading snippet of docs/checkpoints.md, exactly as documented, made into a script that checks it: the
/// code between the snippet markers with its <c>folder</c> pointed at a download, followed by a check that reads a case
/// file (argv[1]: "input" raw [0, 1] images, "features" computed by TorchSharp) and exits 0 when the snippet's
/// <c>features(input)</c> equals them within 1e-4 of the feature scale.
/// </summary>
internal static class DocsSnippet
{
    private const string SnippetStart = "<!-- snippet: load-pytorch -->";
    private const string SnippetEnd = "<!-- /snippet -->";

    // Appended to the snippet: reads the case file with the standard library (as tests/interop/load_backbone.py does)
    // and compares the snippet's features(...) on the raw [0, 1] input with the features TorchSharp computed.
    private const string Check = """

        # --- appended by the tests (tests/Shared/DocsSnippet.cs) ---
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

    /// <summary>The snippet pointed at <paramref name="folder"/> plus the check.</summary>
    public static string Script(string folder) => Snippet(folder) + Check;

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
}
