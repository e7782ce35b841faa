using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using SslOrleans.Cli.Specs;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// bench/allreduce.py run by a Python with PyTorch's torch.distributed: gloo's allreduce (SUM) of a float32 tensor between
/// W processes on loopback, the yardstick beside `sslo bench exchange`. The script is found beside sslo (the CLI's
/// project copies bench/*.py to bench/ in its output) or in bench/ of a folder above the working directory.
/// </summary>
internal sealed class GlooAllreduce
{
    public const string Script = "allreduce.py";

    private readonly string python;
    private readonly string script;

    private GlooAllreduce(string python, string script) => (this.python, this.script) = (python, script);

    /// <summary>One run's result: the median over rounds of the slowest rank's allreduce.</summary>
    public sealed record Result(double MedianMs, long Bytes, int Threads);

    /// <summary>Finds the script; a <paramref name="python"/> path that names no file is bad input.</summary>
    public static GlooAllreduce Locate(string python)
    {
        if (python.Contains('/') && !File.Exists(python))
            throw new SpecException($"--python: no Python at {python} (Debian's python3-torch is {BenchExchangeCommand.DefaultPython}); or pass --gloo false");
        return new GlooAllreduce(python, FindScript());
    }

    /// <summary>Checks that the Python has torch.distributed with gloo (bad input, naming --python, otherwise).</summary>
    public async Task CheckTorchAsync()
    {
        const string probe = "import sys, torch, torch.distributed as d\n" +
                             "sys.exit(0 if d.is_available() and d.is_gloo_available() else 3)";
        var (code, _, error) = await RunProcessAsync(python, ["-c", probe], TimeSpan.FromMinutes(2));
        if (code == 0) return;
        string why = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? $"exit code {code}";
        throw new SpecException(code == 3
            ? $"--python: {python} has torch but no torch.distributed with the gloo backend; install Debian's python3-torch or pass --gloo false"
            : $"--python: {python} has no torch ({why}); install Debian's python3-torch ({BenchExchangeCommand.DefaultPython}) or pass --gloo false");
    }

    public async Task<Result> RunAsync(long elements, int workers, int rounds, TextWriter log)
    {
        var (code, output, error) = await RunProcessAsync(python,
            [script, "--elements", elements.ToString(), "--workers", workers.ToString(), "--rounds", rounds.ToString()], TimeSpan.FromMinutes(10));
        if (code != 0)
            throw new InvalidOperationException($"gloo: {python} {script} exited with code {code}:\n{string.Join('\n', error.Split('\n').TakeLast(15))}");
        string line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()
            ?? throw new InvalidOperationException($"gloo: {script} printed nothing; its stderr:\n{error}");
        using var json = JsonDocument.Parse(line);
        var r = json.RootElement;
        var result = new Result(r.GetProperty("median_ms").GetDouble(), r.GetProperty("bytes").GetInt64(), r.GetProperty("threads").GetInt32());
        log.WriteLine($"  gloo allreduce of {elements:N0} float32 between {workers} processes (torch {r.GetProperty("torch").GetString()}, " +
                      $"{result.Threads} intra-op thread each): median {result.MedianMs:F0} ms of the slowest rank over {rounds} rounds");
        return result;
    }

    private static string FindScript()
    {
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "bench", Script) };
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            candidates.Add(Path.Combine(dir.FullName, "bench", Script));
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"gloo: no bench/{Script} beside sslo ({candidates[0]}) or in a folder above {Directory.GetCurrentDirectory()}; " +
                                               "`make build` copies it (or pass --gloo false)");
    }

    private static async Task<(int Code, string Out, string Err)> RunProcessAsync(string file, string[] args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        Process process;
        try { process = Process.Start(info) ?? throw new SpecException($"--python: could not start {file}"); }
        catch (Win32Exception e) { throw new SpecException($"--python: could not start {file} ({e.Message}); or pass --gloo false"); }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout);
            try { await process.WaitForExitAsync(cancel.Token); }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"gloo: {file} {string.Join(' ', args)} ran longer than {timeout.TotalMinutes:F0} minutes");
            }
            return (process.ExitCode, await output, await error);
        }
    }
}
