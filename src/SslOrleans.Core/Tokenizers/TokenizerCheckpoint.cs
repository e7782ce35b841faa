using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using SslOrleans.Core.Export;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tokenizers;

/// <summary>
/// A trained tokenizer on disk: a folder holding <c>tokenizer.safetensors</c> (the state dict, loadable from Python)
/// and <c>tokenizer.json</c> (<see cref="TokenizerInfo"/>: the options that rebuild the module, where the weights came
/// from and the sha256 of the weights). The json is written last, so a folder whose json matches its weights is
/// complete. Every problem is a <see cref="FileNotFoundException"/> or <see cref="InvalidDataException"/> that names
/// the file and what is wrong with it.
/// </summary>
public static class TokenizerCheckpoint
{
    public const int FormatVersion = 1;
    public const string WeightsFile = "tokenizer.safetensors";
    public const string InfoFile = "tokenizer.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    /// <summary>Writes the folder <paramref name="path"/> (created if needed; its two files are replaced).</summary>
    public static TokenizerInfo Save(string path, VqTokenizer tokenizer, TokenizerTraining training)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(training);
        Directory.CreateDirectory(path);
        byte[] weights;
        using (var buffer = new MemoryStream())
        {
            SafeTensors.Write(buffer, tokenizer.state_dict());
            weights = buffer.ToArray();
        }
        var info = new TokenizerInfo(FormatVersion, tokenizer.Options, training,
            new TokenizerWeights(WeightsFile, weights.LongLength, Convert.ToHexStringLower(SHA256.HashData(weights))));
        WriteReplacing(Path.Combine(path, WeightsFile), weights);
        WriteReplacing(Path.Combine(path, InfoFile), JsonSerializer.SerializeToUtf8Bytes(info, Json));
        return info;
    }

    /// <summary>The folder's tokenizer.json, checked, without loading the weights.</summary>
    public static TokenizerInfo ReadInfo(string path)
    {
        var file = Path.Combine(RequireFolder(path), InfoFile);
        if (!File.Exists(file)) throw new FileNotFoundException($"{file} does not exist: {path} is not a tokenizer folder (or was not finished)", file);
        TokenizerInfo? info;
        try
        {
            info = JsonSerializer.Deserialize<TokenizerInfo>(File.ReadAllBytes(file), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: not a tokenizer description: {e.Message}", e);
        }
        if (info is null) throw new InvalidDataException($"{file}: not a tokenizer description: the json is null");
        if (info.FormatVersion != FormatVersion)
            throw new InvalidDataException($"{file}: format version {info.FormatVersion}; this build reads version {FormatVersion}");
        if (info.Options is null) throw new InvalidDataException($"{file}: 'options' is missing");
        if (info.Training is null) throw new InvalidDataException($"{file}: 'training' is missing");
        if (info.Weights is not { Sha256.Length: 64 })
            throw new InvalidDataException($"{file}: 'weights' is missing or has no sha256");
        // A fixed name: the json must not point a loader at files outside the folder.
        if (info.Weights.File != WeightsFile)
            throw new InvalidDataException($"{file}: weights file '{info.Weights.File}'; a tokenizer's weights are {WeightsFile}");
        try
        {
            info.Options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{file}: invalid options: {e.Message}", e);
        }
        return info;
    }

    /// <summary>The folder's tokenizer.json, checked, and its weights checked against it, without loading them.</summary>
    public static TokenizerInfo Verify(string path)
    {
        var info = ReadInfo(path);
        StateDict.ReadVerified(Path.Combine(Path.GetFullPath(path), WeightsFile), (info.Weights.Bytes, info.Weights.Sha256), $"{InfoFile} of {path}");
        return info;
    }

    /// <summary>The tokenizer saved in folder <paramref name="path"/>, in eval mode, after checking its weights' sha256.</summary>
    public static VqTokenizer Load(string path)
    {
        var info = ReadInfo(path);
        var file = Path.Combine(Path.GetFullPath(path), WeightsFile);
        // Its random initial weights are overwritten, but drawing them must not interleave with a seeded construction.
        var tokenizer = Training.SeededConstruction.Unseeded(() => new VqTokenizer(info.Options));
        try
        {
            StateDict.LoadFile(tokenizer, file, (info.Weights.Bytes, info.Weights.Sha256), $"{InfoFile} of {path}");
            tokenizer.eval();
            return tokenizer;
        }
        catch
        {
            tokenizer.Dispose();
            throw;
        }
    }

    private static string RequireFolder(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        if (File.Exists(full))
            throw new InvalidDataException($"{full} is a file; a tokenizer is a folder holding {InfoFile} and {WeightsFile}");
        if (!Directory.Exists(full))
            throw new FileNotFoundException($"tokenizer folder {full} does not exist; make one with `sslo tokenizer train --out {path}`", full);
        return full;
    }

    // Write then rename, so a reader never sees half a file under the final name.
    private static void WriteReplacing(string file, byte[] bytes)
    {
        var temporary = file + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, file, overwrite: true);
    }
}

/// <summary>The contents of tokenizer.json.</summary>
/// <param name="Weights">The safetensors file beside it, with its size and sha256.</param>
public sealed record TokenizerInfo(int FormatVersion, TokenizerOptions Options, TokenizerTraining Training, TokenizerWeights Weights);

/// <summary>
/// Where a tokenizer's weights came from. <paramref name="Mean"/> and <paramref name="Std"/> normalised its training
/// images; the images given to <see cref="VqTokenizer.Codes"/> must be normalised the same way.
/// </summary>
/// <param name="ReconMse">Reconstruction MSE of the last training batch (normalised units).</param>
/// <param name="HeldOut">Reconstruction and codebook use on images it was not trained on.</param>
public sealed record TokenizerTraining(
    string Dataset, float Mean, float Std, int Seed, int Steps, double Seconds, double ReconMse, CodebookUsage HeldOut);

public sealed record TokenizerWeights(string File, long Bytes, string Sha256);
