using System.CommandLine;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using SslOrleans.Abstractions.Runs;

namespace SslOrleans.Cli.Specs;

/// <summary>
/// The flags of a run spec: one per <see cref="RunSpec"/> property, made from <see cref="SpecBinder"/>'s keys
/// (--micro-batch for micro_batch; --micro_batch works too, see <see cref="Flag.Normalize"/>) and described by the property's [Description], plus --config FILE
/// and --no-eval. A value is checked as it parses, by the conversion YAML keys go through, so a flag and its YAML key
/// take the same values; <see cref="Load"/> applies the flags given over the config's.
/// </summary>
public sealed class RunSpecFlags
{
    // Help names for keys whose type says too little; the rest are named by type.
    private static readonly Dictionary<string, string> HelpNames = new()
    {
        ["data"] = "DIR", ["out"] = "DIR", ["tokenizer"] = "DIR", ["run_id"] = "ID",
    };

    // Keys whose default help would mislead: sslo derives them from other keys.
    private static readonly HashSet<string> DerivedDefaults = ["out", "run_id"];

    private readonly List<(string Key, Option Option)> keys = [];

    public RunSpecFlags()
    {
        Config = Flag.Text("--config", "FILE", "A YAML file of run-spec keys (snake_case, as the flags below); flags given beside it win");
        NoEval = Flag.Switch("--no-eval", "Skip the evaluation at the end of the run (the same as --evaluate false)");
        var defaults = new RunSpec();
        foreach (var (key, property) in SpecBinder.Keys)
        {
            var name = "--" + key.Replace('_', '-');
            var description = property.GetCustomAttribute<DescriptionAttribute>()?.Description
                ?? throw new InvalidOperationException($"RunSpec.{property.Name} has no [Description]: its flag {name} would have no help");
            if (!DerivedDefaults.Contains(key) && Default(property.GetValue(defaults)) is { } shown) description += $" [default: {shown}]";
            keys.Add((key, SpecBinder.IsBoolean(property)
                ? Flag.Switch(name, description)
                : Flag.Valued<string?>(name, HelpName(key, property.PropertyType), description, text =>
                {
                    SpecBinder.Check(key, text, name);
                    return text;
                })));
        }
    }

    public Option<string?> Config { get; }

    public Option<bool> NoEval { get; }

    public IEnumerable<Option> All => [Config, .. keys.Select(k => k.Option), NoEval];

    public void AddTo(Command command)
    {
        foreach (var option in All) command.Add(option);
    }

    /// <summary>The run spec of a parsed command line: the config's keys, the flags given over them, resolved and validated.</summary>
    public RunSpec Load(ParseResult parsed)
    {
        var given = new List<KeyValuePair<string, string?>>();
        foreach (var (key, option) in keys.Where(k => parsed.Given(k.Option)))
        {
            given.Add(new(key, option switch
            {
                Option<bool> on => parsed.GetValue(on) ? "true" : "false",
                Option<string?> text => parsed.GetValue(text),
                _ => throw new InvalidOperationException($"{option.Name} is of an unexpected kind"),
            }));
        }
        if (parsed.GetValue(NoEval)) given.Add(new("evaluate", "false"));
        return SpecLoader.Load(parsed.GetValue(Config), given);
    }

    private static string HelpName(string key, Type type)
    {
        if (HelpNames.TryGetValue(key, out var name)) return name;
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t == typeof(int) || t == typeof(long) ? "N" : t == typeof(double) ? "X" : "NAME";
    }

    private static string? Default(object? value) => value switch
    {
        null or false => null,
        true => "true",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
