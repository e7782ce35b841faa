using System.ComponentModel;
using System.Diagnostics;
using SslOrleans.Cli.Specs;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// The Python side of the benchmarks that measure against PyTorch (bench/step.py, bench/allreduce.py): where a script is
/// and how it runs. The CLI's project copies bench/*.py to bench/ beside sslo; a build's or a test's binaries find the
/// repository's bench/ in a folder above them.
/// </summary>
internal static class BenchScripts
{
    /// <summary>Debian's Python (python3-torch); a pyenv or virtualenv python3 first on PATH usually has no torch.</summary>
    public const string DefaultPython = "/usr/bin/python3";

    /// <summary>bench/<paramref name="name"/> beside sslo or in a folder above it, else above the current folder; null when none.</summary>
    public static string? Find(string name)
    {
        var candidates = new List<string>();
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                candidates.Add(Path.Combine(dir.FullName, "bench", name));
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists);
    }

    /// <summary>Runs <paramref name="start"/> (its output redirected here) within <paramref name="timeout"/>; returns its exit
    /// code, stdout and stderr. A Python that cannot start is bad input naming --python, with <paramref name="hint"/>.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(ProcessStartInfo start, TimeSpan timeout, string hint)
    {
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.UseShellExecute = false;
        Process process;
        try { process = Process.Start(start) ?? throw new SpecException($"--python {start.FileName} did not start; {hint}"); }
        catch (Win32Exception e) { throw new SpecException($"--python {start.FileName} cannot run ({e.Message}); {hint}"); }
        using (process)
        {
            // Both pipes read at once: a full stderr pipe would otherwise block the child while stdout is read.
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout);
            try { await process.WaitForExitAsync(cancel.Token).ConfigureAwait(false); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{start.FileName} {string.Join(' ', start.ArgumentList)} ran longer than {timeout.TotalMinutes:F0} minutes");
            }
            return (process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
        }
    }

    /// <summary>The JSON object a script printed as its last stdout line, or null when that line is none.</summary>
    public static string? LastJsonLine(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() is { } last && last.StartsWith('{') ? last : null;
}
