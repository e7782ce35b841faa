using System.Security.Cryptography;
using System.Text;
using SslOrleans.Core.Models;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Models;

/// <summary>ResNet-18 / ResNet-50 against torchvision's numbers, both stems, any input channels.</summary>
public sealed class ResNetVariantsTests
{
    // Reference numbers from Debian's torchvision 0.14 (python3-torchvision), without the fc layer:
    //   m = torchvision.models.resnet50(); sum(p.numel() for k, p in m.named_parameters() if not k.startswith("fc."))
    // resnet18 11,176,512 and resnet50 23,508,032, both with the 7×7 stem on 3 channels (= the "imagenet" stem).
    private const long TorchvisionResNet18 = 11_176_512;
    private const long TorchvisionResNet50 = 23_508_032;
    private const long ImageNetStem = 64 * 3 * 7 * 7; // 9,408
    private const long CifarStem = 64 * 3 * 3 * 3;    // 1,728

    [Theory]
    [InlineData("resnet18", "imagenet", TorchvisionResNet18)]
    [InlineData("resnet18", "cifar", TorchvisionResNet18 - ImageNetStem + CifarStem)]
    [InlineData("resnet50", "imagenet", TorchvisionResNet50)]
    [InlineData("resnet50", "cifar", TorchvisionResNet50 - ImageNetStem + CifarStem)]
    public void Parameter_count_at_width_64_is_torchvisions(string name, string stem, long expected)
    {
        using var net = new BackboneOptions(name, 64, 3, stem).Create();
        Assert.Equal(expected, net.parameters().Sum(p => p.numel()));
    }

    // SHA-256 of torchvision's sorted state_dict keys without fc.*, joined by '\n':
    //   keys = sorted(k for k in torchvision.models.resnet50().state_dict() if not k.startswith("fc."))
    //   hashlib.sha256("\n".join(keys).encode()).hexdigest()
    [Theory]
    [InlineData("resnet18", 120, "ab46e8330b5d54f41e39a2d5f0b08d2be79056093db107cf86daf5dd71c1115e")]
    [InlineData("resnet50", 318, "399a1207491d79e8a94c9dc2bd373793b2be72b2d456d3f77e2d40675113dddd")]
    public void State_dict_keys_are_torchvisions(string name, int count, string sha256)
    {
        using var net = new BackboneOptions(name, 4, 3, "imagenet").Create();
        var keys = net.state_dict().Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(count, keys.Count);
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', keys))));
        Assert.Equal(sha256, digest);
    }

    [Fact]
    public void Resnet50_has_torchvisions_bottleneck_names_and_a_projection_on_the_first_block()
    {
        using var net = new BackboneOptions("resnet50", 4, 1).Create();
        var sd = net.state_dict();
        foreach (var k in new[] { "layer1.0.conv3.weight", "layer1.0.bn3.running_var", "layer1.0.downsample.0.weight",
                     "layer1.0.downsample.1.num_batches_tracked", "layer3.5.bn2.bias", "layer4.2.conv3.weight" })
            Assert.Contains(k, sd.Keys);
        Assert.DoesNotContain("layer1.1.downsample.0.weight", sd.Keys);
        // v1.5: the stride is on the 3×3 conv2, so conv1 of the first block of layer2 stays 1×1 at stride 1.
        Assert.Equal(new long[] { 8, 16, 1, 1 }, sd["layer2.0.conv1.weight"].shape); // planes 2·4, input 4·4
        Assert.Equal(new long[] { 32, 8, 1, 1 }, sd["layer2.0.conv3.weight"].shape);
    }

    [Theory]
    [InlineData("resnet18", "cifar", 1, 32)]
    [InlineData("resnet18", "cifar", 3, 32)]
    [InlineData("resnet18", "imagenet", 1, 32)]
    [InlineData("resnet18", "imagenet", 3, 32)]
    [InlineData("resnet50", "cifar", 1, 128)]
    [InlineData("resnet50", "cifar", 3, 128)]
    [InlineData("resnet50", "imagenet", 1, 128)]
    [InlineData("resnet50", "imagenet", 3, 128)]
    public void Features_at_28_pixels_have_the_feature_dim(string name, string stem, int channels, long featureDim)
    {
        using var net = new BackboneOptions(name, 4, channels, stem).Create();
        Assert.Equal(featureDim, net.FeatureDim); // 8·width (r18), 32·width (r50)
        using var x = randn(2, channels, 28, 28);
        using var f = net.forward(x);
        Assert.Equal(new long[] { 2, featureDim }, f.shape);
    }

    [Fact]
    public void Imagenet_stem_is_a_strided_7x7_conv()
    {
        using var net = new BackboneOptions("resnet50", 4, 1, "imagenet").Create();
        Assert.Equal(new long[] { 4, 1, 7, 7 }, net.state_dict()["conv1.weight"].shape);
    }
}
