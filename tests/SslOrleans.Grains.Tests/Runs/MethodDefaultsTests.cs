using SslOrleans.Abstractions.Runs;
using SslOrleans.Core.Training;
using SslOrleans.Grains.Runs;

namespace SslOrleans.Grains.Tests.Runs;

public sealed class MethodDefaultsTests
{
    [Theory]
    [InlineData("byol", "lars", 1.0, 1e-5, false)]
    [InlineData("simclr", "lars", 0.4, 1e-4, false)]
    [InlineData("barlow", "lars", 0.3, 1e-4, false)]
    [InlineData("rotnet", "sgd", 0.1, 5e-4, true)]
    public void Unset_optimisation_keys_take_the_methods_recipe(string method, string optimizer, double lr, double wd, bool nesterov)
    {
        var s = RunPlan.WithMethodDefaults(new RunSpec { Method = method });
        Assert.Equal((optimizer, lr, wd, nesterov), (s.Optimizer, s.Lr!.Value, s.WeightDecay!.Value, s.Nesterov!.Value));
    }

    [Fact]
    public void Keys_given_in_the_spec_win_over_the_recipe()
    {
        var s = RunPlan.WithMethodDefaults(new RunSpec { Method = "simclr", Optimizer = "adamw", Lr = 0.001, WeightDecay = 0.05, Nesterov = false });
        Assert.Equal(("adamw", 0.001, 0.05), (s.Optimizer, s.Lr!.Value, s.WeightDecay!.Value));
        var settings = RunPlan.Optimizer(s);
        Assert.Equal(OptimizerKind.AdamW, settings.Kind);
        Assert.True(settings.NeedsSecondMoment);
        Assert.Equal(0.001 * 256 / 256, RunPlan.LearningRate(s with { Batch = 256, WarmupFraction = 0 }, 0, 10), 12);
    }

    [Theory]
    [InlineData("fashion-mnist", 0, null, 28, 1, "cifar")]
    [InlineData("cifar10", 0, null, 32, 3, "cifar")]
    [InlineData("stl10", 0, null, 96, 3, "imagenet")]
    [InlineData("imagefolder", 0, null, 64, 3, "cifar")]
    [InlineData("imagefolder", 65, null, 65, 3, "imagenet")]
    [InlineData("tar", 224, null, 224, 3, "imagenet")]
    [InlineData("tar", 224, "cifar", 224, 3, "cifar")]
    [InlineData("stl10", 32, null, 32, 3, "cifar")]
    public void Image_size_channels_and_the_resnet_stem_follow_the_dataset_unless_given(string dataset, int imageSize, string? stem,
        int size, int channels, string chosen)
    {
        var s = RunPlan.WithMethodDefaults(new RunSpec { Dataset = dataset, ImageSize = imageSize, Stem = stem, Data = "/data" });
        Assert.Equal((size, channels, chosen), (s.ImageSize, s.Channels, s.Stem));
        Assert.Empty(RunSpecValidator.Errors(s));
    }

    [Fact]
    public void The_silo_catalog_names_bad_methods_and_backbones()
    {
        var errors = RunSpecValidator.Errors(new RunSpec { Method = "moco", Backbone = "vgg" }, SiloCatalog.Current);
        Assert.Contains(errors, e => e.StartsWith("method: moco") && e.Contains("simclr") && e.Contains("rotnet"));
        Assert.Contains(errors, e => e.StartsWith("backbone: vgg") && e.Contains("resnet50") && e.Contains("vit-tiny"));
        Assert.Empty(RunSpecValidator.Errors(new RunSpec { Method = "barlow", Backbone = "vit-tiny" }, SiloCatalog.Current));
    }
}
