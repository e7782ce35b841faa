using SslOrleans.Core.Models;

namespace SslOrleans.Core.Tests.Models;

public sealed class BackboneOptionsTests
{
    [Fact]
    public void Names_lists_every_backbone_and_Create_dispatches_by_name()
    {
        Assert.Equal(["resnet18", "resnet50", "vit-tiny"], BackboneOptions.Names);
        using var r18 = new BackboneOptions("resnet18", 4, 1).Create();
        using var r50 = new BackboneOptions("resnet50", 4, 1).Create();
        using var vit = new BackboneOptions("vit-tiny", 4, 1).Create();
        Assert.IsType<ResNet>(r18);
        Assert.IsType<ResNet>(r50);
        Assert.IsType<VisionTransformer>(vit);
        Assert.Equal("resnet18", r18.GetName());
        Assert.Equal("resnet50", r50.GetName());
    }

    [Fact]
    public void The_three_argument_form_keeps_its_meaning()
    {
        var o = new BackboneOptions("resnet18", 8, 1);
        Assert.Equal(("cifar", 4, 28), (o.Stem, o.PatchSize, o.ImageSize));
        Assert.Equal(new BackboneOptions(), new BackboneOptions("resnet18", 64, 3, "cifar", 4, 28));
    }

    [Fact]
    public void Unknown_name_is_rejected_naming_the_property_and_the_known_names()
    {
        var e = Assert.Throws<ArgumentException>(() => new BackboneOptions("resnet34").Create());
        Assert.Equal("Name", e.ParamName);
        Assert.Contains("resnet18, resnet50, vit-tiny", e.Message);
    }

    [Fact]
    public void Unknown_stem_is_rejected_naming_the_property_and_the_known_stems()
    {
        var e = Assert.Throws<ArgumentException>(() => new BackboneOptions("resnet50", Stem: "imagenet1k").Validate());
        Assert.Equal("Stem", e.ParamName);
        Assert.Contains("cifar, imagenet", e.Message);
    }

    [Theory]
    [InlineData(5, 28)]
    [InlineData(0, 28)]
    [InlineData(29, 28)]
    public void Vit_patch_size_must_divide_the_image_size(int patch, int image)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new BackboneOptions("vit-tiny", 4, 1, PatchSize: patch, ImageSize: image).Create());
        Assert.Equal("PatchSize", e.ParamName);
    }

    [Fact]
    public void Patch_options_do_not_concern_the_resnets()
    {
        new BackboneOptions("resnet18", PatchSize: 5).Validate();
    }

    [Fact]
    public void Nonpositive_image_size_is_rejected()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => new BackboneOptions("vit-tiny", PatchSize: 4, ImageSize: 0).Validate());
        Assert.Equal("ImageSize", e.ParamName);
    }
}
