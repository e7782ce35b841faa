using System.CommandLine;
using System.CommandLine.Parsing;

namespace SslOrleans.Cli;

/// <summary>
/// A command line the parser refused, as the one line sslo prints for bad input: the command, the first problem in
/// sslo's words, and where help is ("scale: unknown flag '--batch' (see sslo scale --help)"). The parser's own
/// messages are kept only for problems sslo has no words for.
/// </summary>
public static class ParseErrors
{
    public static string Describe(ParseResult parsed)
    {
        var path = CommandPath(parsed.CommandResult);
        var problem = Problem(parsed, parsed.CommandResult.Command);
        return path.Length == 0 ? $"{problem} (see sslo --help)" : $"{path}: {problem} (see sslo {path} --help)";
    }

    /// <summary>The command's words after "sslo": "bench numerics"; empty for sslo itself.</summary>
    public static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent) names.Add(c.Command.Name);
        names.Reverse();
        return string.Join(' ', names.Skip(1));
    }

    private static string Problem(ParseResult parsed, Command command)
    {
        // A flag first: the tokens after an unknown flag are usually its value.
        var unmatched = parsed.UnmatchedTokens.FirstOrDefault(t => t.StartsWith('-')) ?? parsed.UnmatchedTokens.FirstOrDefault();
        if (unmatched is not null)
        {
            if (unmatched.StartsWith('-'))
            {
                var flag = unmatched.Split('=')[0];
                return $"unknown flag '{flag}'{Suggest(flag, command.Options.SelectMany(o => o.Aliases.Prepend(o.Name)))}";
            }
            if (SwitchBefore(parsed, command, unmatched) is { } on) return $"{on.Name} wants true or false, got '{unmatched}'";
            return command.Subcommands.Count > 0
                ? $"unknown command '{unmatched}'{Suggest(unmatched, command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}"
                : $"unexpected argument '{unmatched}'";
        }
        var error = parsed.Errors[0];
        return error.SymbolResult switch
        {
            ArgumentResult { Argument: PositionalArgument p } => p.Missing,
            OptionResult { Tokens.Count: 0 } o when o.Option.Arity.MinimumNumberOfValues > 0 => $"{o.Option.Name} needs a value",
            OptionResult { IdentifierTokenCount: > 1 } o => $"{o.Option.Name} is given twice",
            _ => error.Message,
        };
    }

    /// <summary>
    /// The switch right before a value nothing took: a switch takes only true or false, so --resume=maybe leaves
    /// "maybe" over, and that is the problem to name.
    /// </summary>
    private static Option? SwitchBefore(ParseResult parsed, Command command, string unmatched)
    {
        var tokens = parsed.Tokens;
        for (int i = 1; i < tokens.Count; i++)
        {
            if (tokens[i].Type != TokenType.Argument || tokens[i].Value != unmatched || tokens[i - 1].Type != TokenType.Option) continue;
            var flag = tokens[i - 1].Value;
            return command.Options.FirstOrDefault(o => o.ValueType == typeof(bool) && (o.Name == flag || o.Aliases.Contains(flag)));
        }
        return null;
    }

    /// <summary>"; did you mean --width?" when one known name is a typo away.</summary>
    private static string Suggest(string given, IEnumerable<string> known)
    {
        var best = known.Distinct().Select(k => (Name: k, Distance: Distance(given, k))).OrderBy(k => k.Distance).FirstOrDefault();
        return best.Name is not null && best.Distance <= Math.Max(1, given.Length / 4) ? $"; did you mean {best.Name}?" : "";
    }

    /// <summary>Edit distance (insertions, deletions, substitutions, and swaps of neighbours: widht → width is one).</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        for (int j = 1; j <= b.Length; j++)
        {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
        }
        return d[a.Length, b.Length];
    }
}
