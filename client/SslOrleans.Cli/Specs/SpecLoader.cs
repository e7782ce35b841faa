using System.CommandLine;
using SslOrleans.Abstractions.Runs;
using YamlDotNet.RepresentationModel;

namespace SslOrleans.Cli.Specs;

/// <summary>Builds a run spec from an optional YAML file and flags (<see cref="RunSpecFlags"/>); flags win.</summary>
public static class SpecLoader
{
    /// <summary>The run spec of pretrain's flags (e.g. ["--config", FILE, "--steps", "7"]), parsed as sslo pretrain parses them.</summary>
    public static RunSpec Load(IReadOnlyList<string> args)
    {
        var flags = new RunSpecFlags();
        var pretrain = new Command("pretrain");
        flags.AddTo(pretrain);
        var parsed = new Command("sslo") { pretrain }.Parse(Flag.Normalize(["pretrain", .. args]), Sslo.Parsing);
        if (parsed.Errors.Count > 0) throw new SpecException(ParseErrors.Describe(parsed));
        return flags.Load(parsed);
    }

    /// <summary>
    /// The spec of an optional YAML file with flags over it (snake_case keys with their text values, in order; flags
    /// win), its paths resolved here and validated.
    /// </summary>
    public static RunSpec Load(string? config, IReadOnlyList<KeyValuePair<string, string?>> flags)
    {
        var spec = config is null ? new RunSpec() : FromYaml(new RunSpec(), config);
        bool outGiven = false, runIdGiven = false;
        // A budget given as a flag replaces the file's budget, whichever kind it is.
        if (flags.Any(f => f.Key is "steps" or "epochs" or "minutes")) spec = spec with { Steps = null, Epochs = null, Minutes = null };
        foreach (var (key, value) in flags)
        {
            spec = SpecBinder.Set(spec, key, value, $"--{key.Replace('_', '-')}");
            outGiven |= key == "out";
            runIdGiven |= key == "run_id";
        }
        if (!outGiven && spec.Out == new RunSpec().Out) spec = spec with { Out = Path.Combine("runs", $"{spec.Method}-{spec.Dataset}-seed{spec.Seed}") };
        // Paths are resolved here, where the user's working directory is known, not in a silo that may run elsewhere.
        // az://CONTAINER/PREFIX locations are checked here too, so a malformed one is bad input.
        spec = spec with
        {
            Out = Location(spec.Out, "--out")!,
            Data = Location(spec.Data, "--data"),
            Tokenizer = Location(spec.Tokenizer, "--tokenizer"),
        };
        if (!runIdGiven && spec.RunId == new RunSpec().RunId) spec = spec with { RunId = Path.GetFileName(spec.Out.TrimEnd('/')) };
        var errors = RunSpecValidator.Errors(spec, Grains.Runs.SiloCatalog.Current);
        if (errors.Count > 0) throw new SpecException(string.Join(Environment.NewLine, errors));
        return spec;
    }

    private static string? Location(string? text, string flag)
    {
        if (text is not { Length: > 0 }) return text;
        try { return Storage.StorageLocation.Parse(text, flag).Text; }
        catch (ArgumentException e) { throw new SpecException(e.Message); }
    }

    public static RunSpec FromYaml(RunSpec spec, string path)
    {
        if (!File.Exists(path)) throw new SpecException($"--config: {path} does not exist");
        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            yaml.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new SpecException($"{path}: not valid YAML at line {e.Start.Line}: {e.Message}");
        }
        if (yaml.Documents.Count == 0) return spec;
        if (yaml.Documents[0].RootNode is not YamlMappingNode root)
            throw new SpecException($"{path}: the top level must be a mapping of keys to values");
        foreach (var (k, v) in root.Children)
        {
            var key = ((YamlScalarNode)k).Value ?? "";
            if (v is not YamlScalarNode scalar) throw new SpecException($"{path}: key '{key}' must have a single value");
            spec = SpecBinder.Set(spec, key, scalar.Value, path);
        }
        return spec;
    }
}
