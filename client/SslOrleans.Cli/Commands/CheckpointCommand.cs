using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Cli.Commands;

/// <summary>sslo checkpoint verify PATH: recomputes the sha256 of every file the manifest lists.</summary>
public static class CheckpointCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Count != 2 || args[0] != "verify")
        {
            stderr.WriteLine("usage: sslo checkpoint verify PATH   (a run folder, a step folder or a manifest.json)");
            return 2;
        }
        var (manifest, problems) = await CheckpointVerifier.VerifyAsync(args[1]);
        foreach (var p in problems) stderr.WriteLine($"sslo: {p}");
        stdout.WriteLine(problems.Count == 0 ? $"ok {manifest}" : $"corrupt {manifest}");
        return problems.Count == 0 ? 0 : 1;
    }
}
