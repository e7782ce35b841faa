using SslOrleans.Abstractions.Runs;
using YamlDotNet.RepresentationModel;

namespace SslOrleans.Cli.Specs;

/// <summary>Builds a run spec from an optional YAML file and flags; flags win.</summary>
public static class SpecLoader
{
    public static RunSpec Load(IReadOnlyList<string> args)
    {
        var spec = new RunSpec();
        var flags = ParseFlags(args);
        if (flags.FirstOrDefault(f => f.Key == "config") is { Key: not null } config)
            spec = FromYaml(spec, config.Value ?? throw new SpecException("--config needs a file"));
        bool outGiven = false, runIdGiven = false;
        // A budget given as a flag replaces the file's budget, whichever kind it is.
        if (flags.Any(f => f.Key is "steps" or "epochs" or "minutes")) spec = spec with { Steps = null, Epochs = null, Minutes = null };
        foreach (var (key, value) in flags)
        {
            if (key == "config") continue;
            if (key == "no_eval") { spec = spec with { Evaluate = false }; continue; }
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

    /// <summary>--key value, --key=value, and bare boolean flags (--resume).</summary>
    private static List<KeyValuePair<string, string?>> ParseFlags(IReadOnlyList<string> args)
    {
        var result = new List<KeyValuePair<string, string?>>();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--") || a.Length < 3) throw new SpecException($"unexpected argument '{a}'; flags look like --key value");
            var name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            var key = name.Replace('-', '_');
            bool boolean = key == "no_eval" || SpecBinder.IsBoolean(key);
            if (value is null && !boolean)
            {
                if (i + 1 >= args.Count) throw new SpecException($"--{name} needs a value");
                value = args[++i];
            }
            result.Add(new(key, value));
        }
        return result;
    }
}
