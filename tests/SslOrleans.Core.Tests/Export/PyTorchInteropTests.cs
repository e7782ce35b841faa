using System.Diagnostics;
using SslOrleans.Core.Export;
using SslOrleans.Core.Models;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Export;

/// <summary>
/// The checkpoint consumer's view: the exported backbone loads strictly into PyTorch (Debian's python3-torch and
/// python3-torchvision) and computes the same features as TorchSharp. ResNets load into torchvision's ResNet and
/// blocks (built at the backbone's width and stem), the ViT into the timm-named reference in load_backbone.py.
/// </summary>
public sealed class PyTorchInteropTests
{
    [Theory]
    [InlineData("resnet18", 64, "cifar")]
    [InlineData("resnet50", 8, "cifar")]
    [InlineData("resnet50", 16, "imagenet")]
    [InlineData("vit-tiny", 16, "cifar")]
    public void PyTorch_loads_the_backbone_and_computes_the_same_features(string name, int width, string stem)
    {
        var dir = Directory.CreateTempSubdirectory("sslo-interop").FullName;
        manual_seed(11);
        using var backbone = new BackboneOptions(name, width, 1, stem).Create();
        using (no_grad())
        {
            // Move the batch-norm running statistics away from their initial values, as training does.
            backbone.train();
            backbone.forward(rand(16, 1, 28, 28) * 2);
            backbone.eval();
        }
        using var input = rand(4, 1, 28, 28);
        using var features = backbone.forward(input).detach();
        using (var f = File.Create(Path.Combine(dir, "backbone.safetensors")))
            SafeTensors.Write(f, backbone.state_dict());
        using (var f = File.Create(Path.Combine(dir, "case.safetensors")))
            SafeTensors.Write(f, new Dictionary<string, Tensor> { ["input"] = input, ["features"] = features });

        var script = Path.Combine(RepositoryRoot(), "tests", "interop", "load_backbone.py");
        // Debian's interpreter, where python3-torch lives (a python3 earlier on PATH may be another one).
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var psi = new ProcessStartInfo(python, [script, Path.Combine(dir, "backbone.safetensors"), Path.Combine(dir, "case.safetensors")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("loaded strictly", output);
    }

    private static string RepositoryRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "SslOrleans.sln"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("SslOrleans.sln not found above " + AppContext.BaseDirectory);
    }
}
