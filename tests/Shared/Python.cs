using System.Diagnostics;

namespace SslOrleans.Tests.Shared;

/// <summary>Runs Debian's Python (where python3-torch lives; a python3 earlier on PATH may be another one) for interop checks.</summary>
internal static class Python
{
    public static string Interpreter => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    /// <summary>Runs the interpreter with <paramref name="arguments"/>; returns its exit code and stdout + stderr.</summary>
    public static (int ExitCode, string Output) Run(params string[] arguments)
    {
        var psi = new ProcessStartInfo(Interpreter, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi)!;
        // Read stderr concurrently: a full stderr pipe would otherwise block the child while we wait on stdout.
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    public static string RepositoryRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "SslOrleans.sln"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("SslOrleans.sln not found above " + AppContext.BaseDirectory);
    }
}
