using System.Globalization;

namespace SslOrleans.Cli.Specs;

/// <summary>
/// The flags of a command that takes no run spec (eval, tokenizer train): --key value or --key=value, '-' or '_' in
/// names; a switch takes no value or =true/false. Every problem is a <see cref="SpecException"/> that starts with
/// the command and names the flag.
/// </summary>
public sealed class CommandFlags
{
    private readonly string command;
    private readonly Dictionary<string, string> values;
    private readonly HashSet<string> switches;

    private CommandFlags(string command, Dictionary<string, string> values, HashSet<string> switches)
    {
        this.command = command;
        this.values = values;
        this.switches = switches;
    }

    public static CommandFlags Parse(IReadOnlyList<string> args, string command, string usage, IReadOnlyCollection<string> valued, IReadOnlyCollection<string> switchNames)
    {
        var values = new Dictionary<string, string>();
        var switches = new HashSet<string>();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length < 3)
                throw new SpecException($"{command}: unexpected argument '{a}'; {usage}");
            var name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            name = name.Replace('_', '-');
            if (switchNames.Contains(name))
            {
                bool on = value is null || (bool.TryParse(value, out bool b) ? b : throw new SpecException($"{command}: --{name} wants true or false, got '{value}'"));
                if (on) switches.Add(name);
                else switches.Remove(name);
                continue;
            }
            if (!valued.Contains(name)) throw new SpecException($"{command}: unknown flag '--{name}'; {usage}");
            if (value is null)
            {
                if (i + 1 >= args.Count) throw new SpecException($"{command}: --{name} needs a value");
                value = args[++i];
            }
            values[name] = value;
        }
        return new CommandFlags(command, values, switches);
    }

    public bool Has(string name) => values.ContainsKey(name);

    public bool Switch(string name) => switches.Contains(name);

    public string? Text(string name) => values.GetValueOrDefault(name);

    public int? PositiveInteger(string name) =>
        !values.TryGetValue(name, out var value) ? null
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n
            : throw new SpecException($"{command}: --{name} wants a positive integer, got '{value}'");

    public double? PositiveNumber(string name) =>
        !values.TryGetValue(name, out var value) ? null
            : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x > 0 && double.IsFinite(x) ? x
            : throw new SpecException($"{command}: --{name} wants a positive number, got '{value}'");

    public int? NonNegativeInteger(string name) =>
        !values.TryGetValue(name, out var value) ? null
            : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n
            : throw new SpecException($"{command}: --{name} wants an integer ≥ 0, got '{value}'");
}
