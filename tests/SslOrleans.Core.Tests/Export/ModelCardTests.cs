using System.Text.Json;
using SslOrleans.Core.Export;
using SslOrleans.Core.Models;

namespace SslOrleans.Core.Tests.Export;

public sealed class ModelCardTests
{
    public static TheoryData<BackboneOptions> Backbones => new()
    {
        new BackboneOptions("resnet18", 16, 1, "cifar", ImageSize: 28),
        new BackboneOptions("resnet50", 8, 3, "imagenet", ImageSize: 32),
        new BackboneOptions("vit-tiny", 4, 1, "cifar", PatchSize: 7, ImageSize: 28, Pool: "mean"),
    };

    [Theory]
    [MemberData(nameof(Backbones))]
    public void Options_metadata_card_and_json_round_trip(BackboneOptions options)
    {
        float[] mean = [.. Enumerable.Range(0, options.InputChannels).Select(c => 0.2860406f + c / 10f)];
        float[] std = [.. Enumerable.Range(0, options.InputChannels).Select(c => 0.3530242f - c / 100f)];
        var card = ModelCard.From(options, mean, std, "byol");

        var metadata = card.ToMetadata();
        var fromMetadata = ModelCard.FromMetadata(metadata);
        var fromJson = ModelCard.FromJson(card.ToJson());

        Assert.Equal(card, fromMetadata);
        Assert.Equal(card, fromJson);
        Assert.Equal(options, fromMetadata!.ToOptions());
        Assert.Equal(mean, fromJson.InputMean);
        Assert.Equal(std, fromJson.InputStd);
        Assert.Equal("pt", metadata["format"]);
        Assert.Equal(options.Architecture, metadata["architecture"]);
        Assert.Equal("byol", metadata["method"]);
        using var backbone = options.Create();
        Assert.Equal(backbone.FeatureDim, card.FeatureDim);
        Assert.Equal(backbone.Architecture, metadata["architecture"]);
    }

    [Fact]
    public void Json_has_the_documented_snake_case_fields()
    {
        var card = ModelCard.From(new BackboneOptions("resnet18", 16, 1), 0.25f, 0.5f);
        using var json = JsonDocument.Parse(card.ToJson());
        string[] fields = ["backbone", "width", "stem", "input_channels", "image_size", "patch_size", "pool", "feature_dim", "input_mean", "input_std", "state_dict", "method"];

        Assert.Equal(fields, json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(128, json.RootElement.GetProperty("feature_dim").GetInt64());
        Assert.Equal("backbone.pt", json.RootElement.GetProperty("state_dict").GetString());
        Assert.Equal([0.25f], card.InputMean); // one dataset statistic, stated for every channel
        Assert.False(card.ToMetadata().ContainsKey("method"));
    }

    [Fact]
    public void Metadata_without_card_fields_gives_no_card()
    {
        Assert.Null(ModelCard.FromMetadata(new Dictionary<string, string> { ["format"] = "pt", ["architecture"] = "resnet18 cifar-stem width=16", ["method"] = "byol" }));
    }

    [Theory]
    [InlineData("width", "sixteen", "not an integer")]
    [InlineData("width", "0", "at least 1")]
    [InlineData("stem", "tiny", "unknown")]
    [InlineData("backbone", "resnet34", "unknown")]
    [InlineData("input_channels", "3", "1 values")] // the mean and std state one channel
    [InlineData("input_mean", "[0.1, 0.2]", "2 values")]
    [InlineData("input_mean", "0.1", "not a JSON array")]
    [InlineData("input_std", "[0]", "positive")]
    [InlineData("pool", null, "missing")]
    public void Bad_metadata_is_an_error_naming_the_file_and_the_field(string field, string? value, string reason)
    {
        var metadata = ModelCard.From(new BackboneOptions("resnet18", 16, 1), 0.25f, 0.5f).ToMetadata();
        if (value is null) metadata.Remove(field);
        else metadata[field] = value;

        var e = Assert.Throws<InvalidDataException>(() => ModelCard.FromMetadata(metadata, "step-00000070/backbone.safetensors"));

        Assert.StartsWith("step-00000070/backbone.safetensors: ", e.Message);
        Assert.Contains(field, e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Bad_json_is_an_error_naming_the_file_and_the_field()
    {
        var json = ModelCard.From(new BackboneOptions("resnet18", 16, 1), 0.25f, 0.5f).ToJson();

        var missing = Assert.Throws<InvalidDataException>(() => ModelCard.FromJson(json.Replace("\"width\": 16,", ""), "run/model.json"));
        var wrongDim = Assert.Throws<InvalidDataException>(() => ModelCard.FromJson(json.Replace("\"feature_dim\": 128", "\"feature_dim\": 512"), "run/model.json"));
        var badName = Assert.Throws<InvalidDataException>(() => ModelCard.FromJson(json.Replace("backbone.pt", "../backbone.pt"), "run/model.json"));

        Assert.StartsWith("run/model.json: ", missing.Message);
        Assert.Contains("width", missing.Message);
        Assert.Contains("'feature_dim'", wrongDim.Message);
        Assert.Contains("'state_dict'", badName.Message);
    }

    [Fact]
    public void From_options_refuses_statistics_that_do_not_fit()
    {
        var options = new BackboneOptions("resnet18", 16, 3);
        Assert.Equal("input_mean", Assert.Throws<ArgumentException>(() => ModelCard.From(options, [0.5f], [0.5f, 0.5f, 0.5f])).ParamName);
        Assert.Equal("input_std", Assert.Throws<ArgumentException>(() => ModelCard.From(options, 0.5f, float.NaN)).ParamName);
        Assert.Equal("width", Assert.Throws<ArgumentException>(() => ModelCard.From(options with { Width = 0 }, 0.5f, 0.5f)).ParamName);
    }
}
