using System.Globalization;
using System.Text.Json;
using SslOrleans.Core.Models;

namespace SslOrleans.Core.Export;

/// <summary>
/// model.json: what a checkpoint consumer needs besides the weights to rebuild the backbone and feed it. The same
/// facts travel as string metadata inside backbone.safetensors (<see cref="ToMetadata"/>), so a card can be made
/// from any exported backbone. Input: pixels scaled to [0, 1], then per channel (x - InputMean[c]) / InputStd[c],
/// as training normalised them.
/// </summary>
/// <param name="Backbone">"resnet18", "resnet50" or "vit-tiny" (<see cref="BackboneOptions.Names"/>).</param>
/// <param name="Width">Planes of the first ResNet stage (64 = torchvision's), or a third of the ViT's embedding.</param>
/// <param name="Stem">ResNets: "cifar" (3×3 stride-1 conv1, no max-pool) or "imagenet" (7×7 stride 2 + max-pool).</param>
/// <param name="ImageSize">Side of the square training images; the ViT's position embedding is sized for it.</param>
/// <param name="PatchSize">ViT only.</param>
/// <param name="Pool">ViT only: features are the cls token ("cls") or the mean of the patch tokens ("mean").</param>
/// <param name="FeatureDim">Length of the feature vector the backbone returns.</param>
/// <param name="InputMean">One mean per input channel.</param>
/// <param name="InputStd">One standard deviation per input channel.</param>
/// <param name="StateDict">File name of the weights beside model.json.</param>
/// <param name="Method">The self-supervised method that trained the backbone, when known.</param>
public sealed record ModelCard(
    string Backbone,
    int Width,
    string Stem,
    int InputChannels,
    int ImageSize,
    int PatchSize,
    string Pool,
    long FeatureDim,
    float[] InputMean,
    float[] InputStd,
    string StateDict = PyTorchExport.StateDictFile,
    string? Method = null)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    // Metadata keys are the JSON names, so model.json and the safetensors header read alike.
    private static readonly string[] CardKeys = ["backbone", "width", "stem", "input_channels", "image_size", "patch_size", "pool", "input_mean", "input_std"];

    /// <summary>The card of a backbone built from <paramref name="options"/> and trained on data normalised per channel.</summary>
    public static ModelCard From(BackboneOptions options, IReadOnlyList<float> mean, IReadOnlyList<float> std, string? method = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        var card = new ModelCard(options.Name, options.Width, options.Stem, options.InputChannels, options.ImageSize, options.PatchSize, options.Pool,
            options.FeatureDim, [.. mean], [.. std], Method: method);
        card.Validate();
        return card;
    }

    /// <summary>
    /// The card for data normalised with one statistic for every channel, as <see cref="Data.ImageDataset.Mean"/> and
    /// <see cref="Data.ImageDataset.Std"/> are: the card states it once per channel.
    /// </summary>
    public static ModelCard From(BackboneOptions options, float mean, float std, string? method = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        int channels = Math.Max(options.InputChannels, 0);
        return From(options, Enumerable.Repeat(mean, channels).ToArray(), Enumerable.Repeat(std, channels).ToArray(), method);
    }

    /// <summary>The options to rebuild the backbone in .NET: <c>card.ToOptions().Create()</c>, then load the weights by name.</summary>
    public BackboneOptions ToOptions() => new(Backbone, Width, InputChannels, Stem, PatchSize, ImageSize, Pool);

    /// <summary>
    /// The safetensors metadata of an exported backbone: "format" ("pt": PyTorch names), "architecture" (one
    /// readable line), "method" when known, and every field <see cref="FromMetadata"/> needs. Values are strings
    /// (the format's rule): numbers in invariant culture, mean and std as JSON arrays.
    /// </summary>
    public Dictionary<string, string> ToMetadata()
    {
        Validate();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "pt",
            ["architecture"] = ToOptions().Architecture,
            ["backbone"] = Backbone,
            ["width"] = Width.ToString(CultureInfo.InvariantCulture),
            ["stem"] = Stem,
            ["input_channels"] = InputChannels.ToString(CultureInfo.InvariantCulture),
            ["image_size"] = ImageSize.ToString(CultureInfo.InvariantCulture),
            ["patch_size"] = PatchSize.ToString(CultureInfo.InvariantCulture),
            ["pool"] = Pool,
            ["input_mean"] = JsonSerializer.Serialize(InputMean),
            ["input_std"] = JsonSerializer.Serialize(InputStd),
        };
        if (Method is not null) metadata["method"] = Method;
        return metadata;
    }

    /// <summary>
    /// The card recorded in a backbone.safetensors' metadata (<see cref="SafeTensors.ReadMetadata(Stream)"/>), or
    /// null when it records none of the card's fields (exported before they were added: the caller must know the
    /// architecture some other way). A field missing or malformed is an <see cref="InvalidDataException"/> naming
    /// <paramref name="source"/> and the field.
    /// </summary>
    public static ModelCard? FromMetadata(IReadOnlyDictionary<string, string> metadata, string source = "backbone.safetensors")
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!CardKeys.Any(metadata.ContainsKey)) return null;
        string Field(string key) => metadata.TryGetValue(key, out var value) ? value
            : throw new InvalidDataException($"{source}: metadata field '{key}' is missing (the card needs {string.Join(", ", CardKeys)})");
        int Int(string key) => int.TryParse(Field(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
            : throw new InvalidDataException($"{source}: metadata field '{key}' is '{Field(key)}', not an integer");
        float[] Floats(string key)
        {
            try
            {
                return JsonSerializer.Deserialize<float[]>(Field(key)) ?? throw new JsonException("null");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{source}: metadata field '{key}' is '{Field(key)}', not a JSON array of numbers", e);
            }
        }

        var options = new BackboneOptions(Field("backbone"), Int("width"), Int("input_channels"), Field("stem"), Int("patch_size"), Int("image_size"), Field("pool"));
        // An unknown backbone has no feature dimension; 0 lets validation report the backbone field itself.
        long featureDim = BackboneOptions.Names.Contains(options.Name) ? options.FeatureDim : 0;
        var card = new ModelCard(options.Name, options.Width, options.Stem, options.InputChannels, options.ImageSize, options.PatchSize,
            options.Pool, featureDim, Floats("input_mean"), Floats("input_std"), Method: metadata.GetValueOrDefault("method"));
        return Checked(card, source, "metadata");
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads model.json; anything missing, malformed or inconsistent is an <see cref="InvalidDataException"/> naming <paramref name="source"/>.</summary>
    public static ModelCard FromJson(string json, string source = PyTorchExport.CardFile)
    {
        ArgumentNullException.ThrowIfNull(json);
        ModelCard? card;
        try
        {
            card = JsonSerializer.Deserialize<ModelCard>(json, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
        return Checked(card ?? throw new InvalidDataException($"{source}: is null, not a model card"), source, "JSON");
    }

    /// <summary>Throws <see cref="ArgumentException"/> (its ParamName the JSON field) unless the card describes a buildable backbone.</summary>
    public void Validate()
    {
        if (Problem() is var (field, message)) throw new ArgumentException(message, field);
    }

    /// <summary>The first field that is wrong and why, or null.</summary>
    private (string Field, string Message)? Problem()
    {
        var options = ToOptions();
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            // BackboneOptions names its properties; the card's fields are their snake_case JSON names.
            var field = e.ParamName == nameof(BackboneOptions.Name) ? "backbone" : JsonNamingPolicy.SnakeCaseLower.ConvertName(e.ParamName ?? "");
            var reason = e.Message.Split(" (Parameter '")[0];
            var value = FieldValue(field);
            return (field, reason.Contains($"'{value}'", StringComparison.Ordinal) ? reason : $"{reason} (value: {value})");
        }
        if (FeatureDim != options.FeatureDim)
            return ("feature_dim", $"feature_dim {FeatureDim} is not the {options.FeatureDim} of {options.Architecture}");
        return Statistic(InputMean, "input_mean", float.IsFinite, "finite")
            ?? Statistic(InputStd, "input_std", s => float.IsFinite(s) && s > 0, "finite and positive")
            ?? (string.IsNullOrWhiteSpace(StateDict) || StateDict != Path.GetFileName(StateDict)
                ? ("state_dict", $"state_dict '{StateDict}' must be a file name beside model.json")
                : null);
    }

    private string FieldValue(string field) => field switch
    {
        "backbone" => Backbone,
        "width" => Width.ToString(CultureInfo.InvariantCulture),
        "stem" => Stem,
        "input_channels" => InputChannels.ToString(CultureInfo.InvariantCulture),
        "image_size" => ImageSize.ToString(CultureInfo.InvariantCulture),
        "patch_size" => PatchSize.ToString(CultureInfo.InvariantCulture),
        "pool" => Pool,
        _ => "?",
    };

    // Arrays compare by content, so two cards of the same backbone are equal.
    public bool Equals(ModelCard? other) =>
        other is not null && Backbone == other.Backbone && Width == other.Width && Stem == other.Stem && InputChannels == other.InputChannels &&
        ImageSize == other.ImageSize && PatchSize == other.PatchSize && Pool == other.Pool && FeatureDim == other.FeatureDim &&
        InputMean.AsSpan().SequenceEqual(other.InputMean) && InputStd.AsSpan().SequenceEqual(other.InputStd) &&
        StateDict == other.StateDict && Method == other.Method;

    public override int GetHashCode() => HashCode.Combine(Backbone, Width, Stem, InputChannels, ImageSize, FeatureDim, StateDict, Method);

    private (string, string)? Statistic(float[] values, string field, Func<float, bool> valid, string what)
    {
        if (values is null || values.Length != InputChannels)
            return (field, $"{field} has {values?.Length ?? 0} values, but input_channels is {InputChannels}: one per channel");
        if (!values.All(valid))
            return (field, $"{field} [{string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)))}] must be {what}");
        return null;
    }

    // Data read from a file: a card that does not validate is the file's fault, so the error names the file and the field.
    private static ModelCard Checked(ModelCard card, string source, string what) =>
        card.Problem() is var (field, message)
            ? throw new InvalidDataException($"{source}: {what} field '{field}' is invalid: {message}")
            : card;
}
