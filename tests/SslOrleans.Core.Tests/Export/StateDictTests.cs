using SslOrleans.Core.Export;
using SslOrleans.Core.Models;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Export;

public sealed class StateDictTests
{
    private static Dictionary<string, Tensor> SavedAndRead(nn.Module module)
    {
        using var stream = new MemoryStream();
        SafeTensors.Write(stream, module.state_dict());
        stream.Position = 0;
        return SafeTensors.Read(stream);
    }

    [Fact]
    public void A_saved_backbone_loads_into_a_fresh_one_and_computes_the_same_features()
    {
        manual_seed(1);
        using var saved = new BackboneOptions("resnet18", 4, 1).Create();
        using (no_grad()) { saved.train(); saved.forward(rand(8, 1, 28, 28)); } // running statistics away from their start
        saved.eval();
        manual_seed(2);
        using var fresh = new BackboneOptions("resnet18", 4, 1).Create();
        fresh.eval();
        using var input = rand(3, 1, 28, 28);
        Assert.False(fresh.forward(input).allclose(saved.forward(input)));

        StateDict.LoadStrict(fresh, SavedAndRead(saved), "test");

        Assert.True(fresh.forward(input).eq(saved.forward(input)).all().item<bool>());
    }

    [Fact]
    public void Missing_reshaped_retyped_and_unexpected_tensors_are_named()
    {
        using var model = new BackboneOptions("resnet18", 4, 1).Create();
        var before = model.state_dict()["conv1.weight"].clone();

        var missing = SavedAndRead(model);
        missing.Remove("layer2.0.bn1.running_var");
        Assert.Contains("'layer2.0.bn1.running_var' is missing", Assert.Throws<InvalidDataException>(() => StateDict.LoadStrict(model, missing, "f.safetensors")).Message);

        var reshaped = SavedAndRead(model);
        reshaped["conv1.weight"] = zeros(5, 1, 3, 3);
        var e = Assert.Throws<InvalidDataException>(() => StateDict.LoadStrict(model, reshaped, "f.safetensors"));
        Assert.Contains("f.safetensors: tensor 'conv1.weight' has shape [5, 1, 3, 3]", e.Message);

        var retyped = SavedAndRead(model);
        retyped["bn1.weight"] = retyped["bn1.weight"].to_type(ScalarType.Float64);
        Assert.Contains("'bn1.weight' is Float64", Assert.Throws<InvalidDataException>(() => StateDict.LoadStrict(model, retyped, "f")).Message);

        var extra = SavedAndRead(model);
        extra["fc.weight"] = zeros(10, 32);
        Assert.Contains("'fc.weight' is not part of the model", Assert.Throws<InvalidDataException>(() => StateDict.LoadStrict(model, extra, "f")).Message);

        // A refused load changes nothing.
        Assert.True(model.state_dict()["conv1.weight"].eq(before).all().item<bool>());
    }
}
