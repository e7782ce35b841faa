using System.Diagnostics;
using System.Text.Json;
using SslOrleans.Cli.Specs;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// bench/allreduce.py run by a Python with PyTorch's torch.distributed: gloo's allreduce (SUM) of a float32 tensor between
/// W processes on loopback, the yardstick beside `sslo bench exchange`; the script is found as <see cref="BenchScripts.Find"/> says.
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
            throw new SpecException($"--python: no Python at {python} (Debian's python3-torch is {BenchScripts.DefaultPython}); or pass --gloo false");
        return new GlooAllreduce(python, BenchScripts.Find(Script)
            ?? throw new FileNotFoundException($"gloo: no bench/{Script} beside sslo ({AppContext.BaseDirectory}), above it or above {Directory.GetCurrentDirectory()}; " +
                                               "`make build` copies it (or pass --gloo false)"));
    }

    /// <summary>Checks that the Python has torch.distributed with gloo (bad input, naming --python, otherwise).</summary>
    public async Task CheckTorchAsync()
    {
        const string probe = "import sys, torch, torch.distributed as d\n" +
                             "sys.exit(0 if d.is_available() and d.is_gloo_available() else 3)";
        var (code, _, error) = await RunPythonAsync(["-c", probe], TimeSpan.FromMinutes(2));
        if (code == 0) return;
        string why = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? $"exit code {code}";
        throw new SpecException(code == 3
            ? $"--python: {python} has torch but no torch.distributed with the gloo backend; install Debian's python3-torch or pass --gloo false"
            : $"--python: {python} has no torch ({why}); install Debian's python3-torch ({BenchScripts.DefaultPython}) or pass --gloo false");
    }

    public async Task<Result> RunAsync(long elements, int workers, int rounds, TextWriter log)
    {
        var (code, output, error) = await RunPythonAsync(
            [script, "--elements", elements.ToString(), "--workers", workers.ToString(), "--rounds", rounds.ToString()], TimeSpan.FromMinutes(10));
        if (code != 0)
            throw new InvalidOperationException($"gloo: {python} {script} exited with code {code}:\n{string.Join('\n', error.Split('\n').TakeLast(15))}");
        string line = BenchScripts.LastJsonLine(output)
            ?? throw new InvalidOperationException($"gloo: {script} printed no JSON line; its stderr:\n{error}");
        using var json = JsonDocument.Parse(line);
        var r = json.RootElement;
        var result = new Result(r.GetProperty("median_ms").GetDouble(), r.GetProperty("bytes").GetInt64(), r.GetProperty("threads").GetInt32());
        log.WriteLine($"  gloo allreduce of {elements:N0} float32 between {workers} processes (torch {r.GetProperty("torch").GetString()}, " +
                      $"{result.Threads} intra-op thread each): median {result.MedianMs:F0} ms of the slowest rank over {rounds} rounds");
        return result;
    }

    private Task<(int Code, string Out, string Err)> RunPythonAsync(string[] args, TimeSpan timeout) =>
        BenchScripts.RunAsync(new ProcessStartInfo(python, args), timeout, "or pass --gloo false");
}
