using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using SslOrleans.Cli.Specs;
using SslOrleans.Client;

namespace SslOrleans.Cli;

/// <summary>
/// The kinds of option sslo's commands take. Each checks its value as the command line is parsed, so that a bad value
/// is refused before anything starts, with an error that names the flag and what is wrong ("--workers wants a positive
/// integer, got '0'"). A flag given twice keeps its last value, as sslo's flags always did, unless it is made with
/// <c>once</c>. A multi-word flag may also be written with '_' (--micro_batch): see <see cref="Normalize"/>.
/// </summary>
public static class Flag
{
    /// <summary>Any text, e.g. a path.</summary>
    public static Option<string?> Text(string name, string helpName, string description, bool once = false) =>
        Valued<string?>(name, helpName, description, text => text, once);

    /// <summary>Any text, this one when the flag is not given.</summary>
    public static Option<string> Text(string name, string helpName, string description, string defaultValue) =>
        WithDefault(Valued(name, helpName, description, text => text), defaultValue);

    public static Option<int?> PositiveInteger(string name, string description) =>
        Valued<int?>(name, "N", description, text => ParsePositiveInteger(name, text));

    public static Option<int> PositiveInteger(string name, string description, int defaultValue) =>
        WithDefault(Valued(name, "N", description, text => ParsePositiveInteger(name, text)), defaultValue);

    public static Option<long?> NonNegativeInteger(string name, string description) =>
        Valued<long?>(name, "N", description, text =>
            long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : throw Wants(name, "an integer ≥ 0", text));

    public static Option<int> NonNegativeInteger(string name, string description, int defaultValue) =>
        WithDefault(Valued(name, "N", description, text =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw Wants(name, "an integer ≥ 0", text)), defaultValue);

    public static Option<long> Integer(string name, string description, long defaultValue) =>
        WithDefault(Valued(name, "N", description, text =>
            long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : throw Wants(name, "an integer", text)), defaultValue);

    public static Option<double?> PositiveNumber(string name, string description) =>
        Valued<double?>(name, "X", description, text => ParsePositiveNumber(name, text));

    public static Option<double> PositiveNumber(string name, string description, double defaultValue) =>
        WithDefault(Valued(name, "X", description, text => ParsePositiveNumber(name, text)), defaultValue);

    /// <summary>One of a few names; help lists them.</summary>
    public static Option<string> OneOf(string name, string description, string defaultValue, params string[] names) =>
        WithDefault(Valued(name, string.Join('|', names), description, text =>
            names.Contains(text, StringComparer.Ordinal) ? text : throw Wants(name, "one of " + string.Join(", ", names), text)), defaultValue);

    /// <summary>On when given bare (--force), or set by a value: --force=false, --force false.</summary>
    public static Option<bool> Switch(string name, string description, bool defaultValue = false)
    {
        var option = new Option<bool>(name) { Description = description, Arity = ArgumentArity.ZeroOrOne };
        if (defaultValue) option.DefaultValueFactory = _ => true;
        option.CustomParser = result =>
        {
            if (result.Tokens.Count == 0) return true;
            var text = result.Tokens[^1].Value;
            if (bool.TryParse(text, out bool on)) return on;
            result.AddError(Wants(name, "true or false", text).Message);
            return false;
        };
        return option;
    }

    /// <summary>
    /// An option whose value <paramref name="parse"/> turns into a <typeparamref name="T"/>; a <see cref="SpecException"/>,
    /// <see cref="ArgumentException"/> or <see cref="ClusterConnectionException"/> it throws is the error, word for word.
    /// </summary>
    public static Option<T> Valued<T>(string name, string helpName, string description, Func<string, T> parse, bool once = false)
    {
        // One value per occurrence (--workers 2 3 leaves 3 unmatched), and any number of occurrences: the last counts.
        var option = new Option<T>(name)
        {
            Description = description, HelpName = helpName, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
        };
        option.CustomParser = result =>
        {
            if (result.Tokens.Count == 0) return Fail($"{name} needs a value");
            if (once && result.Tokens.Count > 1) return Fail($"{name} is given twice");
            var text = result.Tokens[^1].Value;
            // The parser hands a flag that follows a flag without its value to it as the value (--out --resume).
            if (text.StartsWith("--", StringComparison.Ordinal)) return Fail($"{name} needs a value, not the flag '{text}'");
            try { return parse(text); }
            catch (Exception e) when (e is SpecException or ArgumentException or ClusterConnectionException) { return Fail(e.Message); }

            T Fail(string message)
            {
                result.AddError(message);
                return default!;
            }
        };
        return option;
    }

    /// <summary>
    /// A positional argument such as RUN or LOCATION, required. A token that looks like a flag is left to the options,
    /// so that an unknown flag is named as one; <paramref name="missing"/> is the error when it is not given.
    /// </summary>
    public static PositionalArgument Positional(string name, string description, string missing)
    {
        var argument = new PositionalArgument(name, missing) { Description = description, Arity = ArgumentArity.ExactlyOne };
        argument.CustomParser = result =>
        {
            var text = result.Tokens.Count == 0 ? null : result.Tokens[0].Value;
            if (text is null || text.StartsWith('-'))
            {
                result.OnlyTake(0);
                result.AddError(missing);
                return null;
            }
            return text;
        };
        return argument;
    }

    /// <summary>Whether the flag was on the command line (and not just its default).</summary>
    public static bool Given(this ParseResult parsed, Option option) => parsed.GetResult(option) is { Implicit: false };

    /// <summary>A bad-input error of the parsed command: "scale: --workers N is missing (see sslo scale --help)".</summary>
    public static SpecException Problem(this ParseResult parsed, string problem)
    {
        var path = ParseErrors.CommandPath(parsed.CommandResult);
        return new SpecException($"{path}: {problem} (see sslo {path} --help)");
    }

    public static TextWriter Stdout(this ParseResult parsed) => parsed.InvocationConfiguration.Output;

    public static TextWriter Stderr(this ParseResult parsed) => parsed.InvocationConfiguration.Error;

    public static SpecException Wants(string name, string what, string text) => new($"{name} wants {what}, got '{text}'");

    /// <summary>
    /// Flags as sslo knows them: '_' in a flag's name becomes '-' (--micro_batch=32 is --micro-batch=32), since run-spec
    /// keys are snake_case in YAML and users type both. Done on the tokens rather than as aliases: System.CommandLine
    /// 2.0 lists every alias in help (its HelpBuilder is internal), which would double every multi-word flag's line.
    /// Values are left alone.
    /// </summary>
    public static string[] Normalize(IEnumerable<string> args) => args.Select(a =>
    {
        if (!a.StartsWith("--", StringComparison.Ordinal)) return a;
        int eq = a.IndexOf('=');
        return eq < 0 ? a.Replace('_', '-') : a[..eq].Replace('_', '-') + a[eq..];
    }).ToArray();

    private static Option<T> WithDefault<T>(Option<T> option, T value)
    {
        option.DefaultValueFactory = _ => value;
        return option;
    }

    private static int ParsePositiveInteger(string name, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw Wants(name, "a positive integer", text);

    private static double ParsePositiveNumber(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x > 0 && double.IsFinite(x) ? x
            : throw Wants(name, "a positive number", text);
}

/// <summary>A required positional argument that knows how to say it is missing ("the run id is missing").</summary>
public sealed class PositionalArgument(string name, string missing) : Argument<string?>(name)
{
    public string Missing { get; } = missing;
}
