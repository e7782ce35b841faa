using System.CommandLine;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo help [COMMAND…]: the same as COMMAND… --help, for the habit of `git help`; not listed in help itself.
/// </summary>
[Verb(1000)]
public static class HelpCommand
{
    public static Command Create()
    {
        var words = new Argument<string[]>("COMMAND") { Arity = ArgumentArity.ZeroOrMore, Description = "The command whose help to show" };
        var command = new Command("help", "Shows the help of a command") { Hidden = true };
        command.Add(words);
        command.SetAction(parsed =>
        {
            var path = parsed.GetValue(words) ?? [];
            var root = parsed.RootCommandResult.Command;
            var at = root;
            // Each word must name a command: help of an unknown one would quietly be the help of the one above it.
            foreach (var word in path)
                at = at.Subcommands.FirstOrDefault(c => c.Name == word && !c.Hidden) ?? throw parsed.Problem($"unknown command '{string.Join(' ', path)}'");
            return root.Parse([.. path, "--help"], Sslo.Parsing).Invoke(parsed.InvocationConfiguration);
        });
        return command;
    }
}
