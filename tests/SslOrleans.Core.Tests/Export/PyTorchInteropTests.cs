using System.Diagnostics;
using SslOrleans.Core.Export;
using SslOrleans.Core.Models;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Export;

/// <summary>
/// The checkpoint consumer's view: the exported backbone loads strictly into torchvision's ResNet-18 (CIFAR stem,
/// Debian's python3-torch and python3-torchvision) and computes the same features as TorchSharp.
/// </summary>
public sealed class PyTorchInteropTests
{
    [Fact]
    public void Torchvision_loads_the_backbone_and_computes_the_same_features()
    {
        var dir = Directory.CreateTempSubdirectory("sslo-interop").FullName;
        manual_seed(11);
        using var backbone = new BackboneOptions("resnet18", 64, 1).Create();
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
