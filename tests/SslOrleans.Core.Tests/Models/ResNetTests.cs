using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;
using SslOrleans.Core.Training;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Models;

public sealed class ResNetTests
{
    [Fact]
    public void State_dict_keys_are_torchvisions_resnet18_keys()
    {
        using var net = new BackboneOptions("resnet18", 8, 1).Create();
        var keys = net.state_dict().Keys.ToHashSet();
        foreach (var k in new[] { "conv1.weight", "bn1.weight", "bn1.running_mean", "bn1.num_batches_tracked",
                     "layer1.0.conv1.weight", "layer1.1.bn2.bias", "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var",
                     "layer4.1.conv2.weight" })
            Assert.Contains(k, keys);
        Assert.DoesNotContain("layer1.0.downsample.0.weight", keys); // stride 1, same width: identity shortcut
        Assert.Equal(122 - 2, keys.Count); // torchvision's resnet18 state_dict has 122 keys, fc.weight and fc.bias among them
    }

    [Fact]
    public void Cifar_stem_keeps_resolution_and_features_have_eight_times_the_width()
    {
        using var net = new BackboneOptions("resnet18", 8, 1).Create();
        Assert.Equal(new long[] { 8, 1, 3, 3 }, net.state_dict()["conv1.weight"].shape);
        using var x = randn(2, 1, 28, 28);
        using var f = net.forward(x);
        Assert.Equal(new long[] { 2, 64 }, f.shape);
        Assert.Equal(64, net.FeatureDim);
    }

    [Fact]
    public void Parameter_count_at_width_64_is_resnet18s()
    {
        using var net = new BackboneOptions("resnet18", 64, 3).Create();
        long count = net.parameters().Sum(p => p.numel());
        // torchvision resnet18 has 11,689,512 parameters; minus fc (513,000) and the 7×7 stem (9,408) plus a 3×3 stem (1,728).
        Assert.Equal(11_689_512 - 513_000 - 9_408 + 1_728, count);
    }

    [Fact]
    public void Same_seed_gives_the_same_initial_weights()
    {
        var o = new MethodOptions("byol", new BackboneOptions("resnet18", 4, 1), Seed: 7, HiddenDim: 16, ProjectionDim: 8);
        using var a = MethodRegistry.Create(o);
        using var b = MethodRegistry.Create(o);
        using var c = MethodRegistry.Create(o with { Seed = 8 });
        var pa = a.Online.parameters().Select(p => p.sum().item<float>()).ToArray();
        Assert.Equal(pa, b.Online.parameters().Select(p => p.sum().item<float>()).ToArray());
        Assert.NotEqual(pa, c.Online.parameters().Select(p => p.sum().item<float>()).ToArray());
    }

    [Fact]
    public void Layout_puts_the_target_as_a_prefix_and_partitions_whole_tensors()
    {
        using var m = MethodRegistry.Create(new MethodOptions("byol", new BackboneOptions("resnet18", 4, 1), 0, 16, 8));
        var layout = ModelLayout.Of(m.Online, m.Target);
        Assert.True(layout.TargetCount > 0 && layout.TargetCount < layout.ParameterCount);
        Assert.All(layout.Parameters.TakeWhile(p => p.HasTarget), p => Assert.DoesNotContain("predictor", p.Name));
        Assert.All(layout.Parameters.SkipWhile(p => p.HasTarget), p => Assert.StartsWith("predictor", p.Name));
        foreach (int shards in new[] { 1, 2, 3, 7 })
        {
            var parts = ModelLayout.Partition(layout.Parameters.Select(p => p.Length).ToList(), shards);
            Assert.Equal(shards, parts.Count);
            Assert.Equal(0, parts[0].First);
            Assert.Equal(layout.Parameters.Count, parts[^1].End);
            for (int k = 0; k < shards; k++) Assert.True(parts[k].End > parts[k].First);
            for (int k = 1; k < shards; k++) Assert.Equal(parts[k - 1].End, parts[k].First);
        }
    }

    [Fact]
    public void Partition_balances_sizes()
    {
        var parts = ModelLayout.Partition([10, 10, 10, 10, 10, 10], 3);
        Assert.Equal([(0, 2), (2, 4), (4, 6)], parts);
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelLayout.Partition([1, 2], 3));
    }
}
