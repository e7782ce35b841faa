using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Reflection;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data;

namespace SslOrleans.Cli;

/// <summary>
/// The sslo command line: composes the commands (each <see cref="VerbAttribute"/> class makes its own), runs the one
/// given, and turns bad input into one clear line on stderr and exit code 2 (0: done, 1: a run or check failed).
/// </summary>
public static class Sslo
{
    private const string Description =
        "Self-supervised pretraining (BYOL, SimCLR, Barlow Twins, RotNet, MAE, BEiT) on an Orleans cluster. " +
        "Progress goes to stderr; a command's result is one JSON object, the last line of stdout. " +
        "Every command takes --help; multi-word flags may also be written with '_' (--micro_batch).";

    // Response files (@FILE) are off: an argument that starts with @ is a value, as it always was.
    internal static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    public static async Task<int> MainAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var parsed = CreateRoot().Parse(Flag.Normalize(args), Parsing);
        if (parsed.Action is ParseErrorAction)
        {
            stderr.WriteLine($"sslo: {ParseErrors.Describe(parsed)}");
            return 2;
        }
        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            // Bad input is reported below, in sslo's words; pretrain handles Ctrl+C itself (a checkpoint, then stop).
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        try
        {
            // Before anything computes (eval and tokenizer training run convolutions in this process); not for help.
            if (parsed.Action == parsed.CommandResult.Command.Action && parsed.CommandResult.Command.Subcommands.Count == 0)
                Core.Numerics.OneDnnIsaGuard.Apply();
            return await parsed.InvokeAsync(invocation);
        }
        catch (Exception e) when (e is SpecException or ArgumentException or DatasetNotFoundException or IdxFormatException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException
                                      or Client.ClusterConnectionException or Hosting.SslConfigurationException)
        {
            stderr.WriteLine($"sslo: {e.Message}");
            return 2;
        }
        catch (Azure.RequestFailedException e)
        {
            // The storage account refused or failed (after the retries): not the user's flags, but say which request.
            stderr.WriteLine($"sslo: blob storage: {e.Status} {e.ErrorCode}: {e.Message.Split('\n')[0]}");
            return 1;
        }
        catch (Core.Numerics.NumericsCheckException e)
        {
            // Not bad input: this processor computes wrong results, and the message says what to do (exit 1, as a failed run).
            stderr.WriteLine($"sslo: {e.Message}");
            return 1;
        }
    }

    /// <summary>sslo and every command under it, with help on each (-h, --help).</summary>
    public static Command CreateRoot()
    {
        var root = new Command("sslo", Description);
        var help = new HelpOption();
        root.Add(help);
        root.Add(new VersionOption());
        foreach (var verb in Verbs()) root.Add(verb);
        var helpAction = (HelpAction)help.Action!;
        // sslo alone: what it can do, and exit code 2 (nothing was done).
        root.SetAction(parsed =>
        {
            helpAction.Invoke(parsed);
            return 2;
        });
        return root;
    }

    /// <summary>A group of subcommands (bench, checkpoint…): given alone, it names them.</summary>
    public static Command Group(string name, string description, params Command[] subcommands)
    {
        var group = new Command(name, description);
        foreach (var c in subcommands) group.Add(c);
        group.SetAction(int (parsed) => throw parsed.Problem($"give one of: {string.Join(", ", subcommands.Select(c => c.Name))}"));
        return group;
    }

    private static IEnumerable<Command> Verbs() => typeof(Sslo).Assembly.GetTypes()
        .Select(t => (Type: t, Verb: t.GetCustomAttribute<VerbAttribute>()))
        .Where(v => v.Verb is not null)
        .OrderBy(v => v.Verb!.Order).ThenBy(v => v.Type.Name, StringComparer.Ordinal)
        .Select(v => v.Type.GetMethod("Create", BindingFlags.Public | BindingFlags.Static, Type.EmptyTypes)?.Invoke(null, null) as Command
                     ?? throw new InvalidOperationException($"{v.Type.Name} is a [Verb] without a public static Command Create()"));
}
