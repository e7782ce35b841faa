using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SslOrleans.Grains.Tests.Cluster;

/// <summary>The repository, free ports and child processes for the cluster tests.</summary>
internal static class ClusterTestSupport
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SslOrleans.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no SslOrleans.sln above {AppContext.BaseDirectory}");
    }

    public static int FreePort() => Hosting.Loopback.FreePort();

    public static string TempDir(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>Runs a program to its end (killed with its children after <paramref name="timeout"/>) and returns what it
    /// printed; <paramref name="unset"/> names variables of this process's environment the child must not inherit.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string file, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? env, TimeSpan timeout, IEnumerable<string>? unset = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        foreach (var k in unset ?? []) psi.Environment.Remove(k);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not end within {timeout}; stderr: {await stderr}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Sends a POSIX signal (15 SIGTERM, 9 SIGKILL) to a process.</summary>
    public static void Signal(int pid, int signal)
    {
        if (Kill(pid, signal) != 0) throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public static bool IsRunning(int pid) => Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    private static bool IsZombie(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat").Split(") ")[^1].StartsWith('Z'); }
        catch (IOException) { return false; }
    }
}

/// <summary>A background server process this test started, stopped with its children on dispose.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private ServerProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Pid => process.Id;

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    public Task WaitForExitAsync(CancellationToken cancellation) => process.WaitForExitAsync(cancellation);

    public string Output { get { lock (output) return output.ToString(); } }

    public static ServerProcess Start(string file, params string[] args) => Start(file, null, args);

    /// <summary>Starts <paramref name="file"/> with <paramref name="env"/> added to this process's environment.</summary>
    public static ServerProcess Start(string file, IReadOnlyDictionary<string, string>? env, params string[] args) =>
        StartIn(ClusterTestSupport.RepoRoot, file, env, args);

    /// <summary>Starts <paramref name="file"/> in <paramref name="workDir"/> (as a container's WORKDIR would).</summary>
    public static ServerProcess StartIn(string workDir, string file, IReadOnlyDictionary<string, string>? env, string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return new ServerProcess(Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}"));
    }

    /// <summary>Waits until something accepts TCP connections on the port, or fails with the server's output.</summary>
    public Task WaitForPortAsync(int port, TimeSpan timeout) =>
        Hosting.Loopback.WaitUntilListeningAsync(port, DateTime.UtcNow + timeout,
            () => { if (process.HasExited) throw new InvalidOperationException($"{process.StartInfo.FileName} exited with {process.ExitCode}: {Output}"); },
            () => $"{process.StartInfo.FileName}: {Output}");

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>: a server that saves its state on a clean stop.</summary>
    public async Task TerminateAsync(TimeSpan grace)
    {
        if (!process.HasExited)
        {
            ClusterTestSupport.Signal(process.Id, 15);
            using var limit = new CancellationTokenSource(grace);
            try { await process.WaitForExitAsync(limit.Token); }
            catch (OperationCanceledException) { process.Kill(entireProcessTree: true); await process.WaitForExitAsync(); }
        }
        process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            process.Dispose();
        }
    }
}

/// <summary>A redis-server of this test on a free loopback port, no persistence (build/deps.sh --test installs it).</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private ServerProcess? server;

    public int Port { get; private set; }

    public string Url(int database) => $"redis://127.0.0.1:{Port}/{database}";

    public async Task InitializeAsync()
    {
        var found = Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is missing: build/deps.sh --test installs it (make test runs it)");
        Port = ClusterTestSupport.FreePort();
        server = ServerProcess.Start(found, "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no");
        await server.WaitForPortAsync(Port, TimeSpan.FromSeconds(20));
    }

    public async Task DisposeAsync()
    {
        if (server is not null) await server.DisposeAsync();
    }
}

/// <summary>Azurite's table service (build/deps.sh --test installs it into .tools/azurite) on a free port, in memory.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private ServerProcess? server;

    public int Port { get; private set; }

    /// <summary>Azurite's well-known development account, at this fixture's table port.</summary>
    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    public async Task InitializeAsync()
    {
        var table = Path.Combine(ClusterTestSupport.RepoRoot, ".tools", "azurite", "node_modules", ".bin", "azurite-table");
        if (!File.Exists(table)) throw new InvalidOperationException($"{table} is missing: build/deps.sh --test installs Azurite there (make test runs it)");
        Port = ClusterTestSupport.FreePort();
        server = ServerProcess.Start(table, "--tableHost", "127.0.0.1", "--tablePort", Port.ToString(),
            "--skipApiVersionCheck", "--disableTelemetry", "--inMemoryPersistence", "--silent");
        await server.WaitForPortAsync(Port, TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        if (server is not null) await server.DisposeAsync();
    }
}
