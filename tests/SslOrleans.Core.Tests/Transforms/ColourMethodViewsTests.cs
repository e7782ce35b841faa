using SslOrleans.Core.Methods;
using SslOrleans.Core.Models;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Transforms;

/// <summary>The methods draw their views from <see cref="Core.Transforms.ViewRecipes"/>, so RGB batches of any size train.</summary>
public sealed class ColourMethodViewsTests
{
    [Theory]
    [InlineData("byol", 32)]
    [InlineData("simclr", 32)]
    [InlineData("barlow", 40)]
    [InlineData("rotnet", 32)]
    [InlineData("byol", 96)]
    public void Rgb_batches_give_finite_losses(string method, int size)
    {
        using var scope = NewDisposeScope();
        using var m = MethodRegistry.Create(new MethodOptions(method, new BackboneOptions("resnet18", 4, 3), 3, HiddenDim: 16, ProjectionDim: 8));
        var images = rand([4, 3, size, size], generator: new Generator(1));
        var stats = ImageStats.Repeated(0.45f, 0.25f, 3);
        var value = m switch
        {
            ISampleLossMethod s => s.Loss(images, 7, stats).Value,
            IBatchLossMethod b => b.BatchLoss(b.Embed(images, 7, stats).Value),
            _ => throw new InvalidOperationException(),
        };
        Assert.True(float.IsFinite(value.item<float>()));
    }
}
