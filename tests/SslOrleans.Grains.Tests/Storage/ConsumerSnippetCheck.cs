using SslOrleans.Checkpoints;
using SslOrleans.Core.Export;
using SslOrleans.Storage;
using SslOrleans.Tests.Shared;
using static TorchSharp.torch;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>
/// The two consumer paths compute the same features: the .NET API loads the checkpoint's backbone from its location by
/// name, and the documented Python snippet loads the downloaded backbone.pt + model.json into torchvision.
/// </summary>
internal static class ConsumerSnippetCheck
{
    /// <returns>Python's exit code (0: same features) and what it printed.</returns>
    public static async Task<(int ExitCode, string Output)> RunAsync(string location, string downloaded, StorageOptions storage)
    {
        var checkpoint = await CheckpointSource.Open(location, storage).OpenAsync();
        var card = await checkpoint.ReadModelCardAsync();
        using var backbone = await checkpoint.LoadBackboneAsync();
        manual_seed(7);
        using var input = rand(6, card.InputChannels, card.ImageSize, card.ImageSize);
        using var mean = tensor(card.InputMean).view(1, -1, 1, 1);
        using var std = tensor(card.InputStd).view(1, -1, 1, 1);
        using var normalised = (input - mean) / std;
        Tensor features;
        using (no_grad()) features = backbone.forward(normalised);
        var folder = Directory.CreateTempSubdirectory("sslo-consumer").FullName;
        var casePath = Path.Combine(folder, "case.safetensors");
        using (features)
        using (var f = File.Create(casePath))
            SafeTensors.Write(f, new Dictionary<string, Tensor> { ["input"] = input, ["features"] = features });
        var script = Path.Combine(folder, "snippet.py");
        await File.WriteAllTextAsync(script, DocsSnippet.Script(downloaded));
        return Python.Run(script, casePath);
    }
}
