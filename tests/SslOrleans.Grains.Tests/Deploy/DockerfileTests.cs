using System.Diagnostics;
using System.Net;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Hosting.Web;

namespace SslOrleans.Grains.Tests.Deploy;

/// <summary>
/// deploy/docker/*.Dockerfile without a container engine: the build stage runs the Makefile's publish into the folders
/// the runtime stage copies, and the published silo and CLI start exactly as the images' WORKDIR, ENV, ENTRYPOINT and CMD
/// say; the silo's HEALTHCHECK passes once it is up, and its probes behave as deploy/k8s/silo.yaml expects, to its exit.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class DockerfileTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    private const string SiloImage = "deploy/docker/silo.Dockerfile";
    private const string CliImage = "deploy/docker/cli.Dockerfile";

    [Theory]
    [InlineData(SiloImage, "SslOrleans.Silo.dll")]
    [InlineData(CliImage, "sslo.dll")]
    public void The_build_stage_publishes_as_make_build_does_into_what_the_image_copies(string dockerfile, string dll)
    {
        var image = ContainerImage.Read(dockerfile);
        var makeBuild = MakefileBuildCommands();
        var build = image.File.Named("build");
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", build.Image);
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/aspnet:10\.0", image.File.Final.Image); // Kestrel: the ASP.NET Core shared framework
        Assert.Equal(build.Image.Split(':')[1], image.File.Final.Image.Split(':')[1]); // one distro in both stages (the loader fix)

        // Every publish is make build's, to the letter (an opt-in flags argument may follow), and writes what is copied.
        var outputs = new List<string>();
        foreach (var run in build.Runs.Where(r => r.StartsWith("dotnet publish", StringComparison.Ordinal)))
        {
            var make = makeBuild.FirstOrDefault(m => run == m || run.StartsWith(m + " $", StringComparison.Ordinal));
            Assert.True(make is not null, $"{dockerfile}: RUN {run} is not one of make build's publish commands:\n{string.Join('\n', makeBuild)}");
            outputs.Add(make!.Split(' ')[Array.IndexOf(make.Split(' '), "-o") + 1]);
        }
        var copies = image.Copies().ToList();
        Assert.NotEmpty(copies);
        foreach (var (destination, folder) in copies)
        {
            Assert.Contains(folder, outputs);
            Assert.True(Directory.Exists(Path.Combine(ClusterTestSupport.RepoRoot, folder)),
                $"{folder} is missing: deploy/local/chaos.sh publish (build/test.sh runs it) writes it");
        }
        var command = image.File.Command;
        Assert.Equal("dotnet", command[0]);
        var (_, args, workDir) = image.Process(command, elsewhere: "/nonexistent");
        Assert.True(File.Exists(Path.Combine(workDir, args[0])), $"{dockerfile}: {string.Join(' ', command)} in {image.File.Final.WorkDir}: no {args[0]} there in the image");
        Assert.EndsWith(dll, args[0]);
        Assert.True(image.File.Final.User is { } user && user is not ("root" or "0"), $"{dockerfile}: the image must run as a non-root USER");
    }

    [Fact]
    public async Task The_CLI_image_answers_help()
    {
        var image = ContainerImage.Read(CliImage);
        var home = ClusterTestSupport.TempDir("sslo-cli-home");
        var (file, args, workDir) = image.Process([.. image.File.Command, "--help"], elsewhere: home);
        var result = await Run(file, args, workDir, image.File.Final.Env, TimeSpan.FromMinutes(2));
        Assert.True(result.Code == 0, $"{string.Join(' ', image.File.Command)} --help exited {result.Code}: {result.Err}");
        Assert.Contains("pretrain", result.Out);
    }

    [Fact]
    public async Task The_silo_image_starts_passes_its_HEALTHCHECK_and_turns_not_ready_before_it_exits()
    {
        var image = ContainerImage.Read(SiloImage);
        var healthCheck = image.File.Final.HealthCheck;
        Assert.NotNull(healthCheck);
        var (readyPath, livePath) = ManifestTests.SiloProbePaths();

        // The image's ENV, then what a deployment adds (compose.yaml, docker run -e): Redis clustering, and free ports
        // instead of the image's defaults so that this test can run beside others on one machine.
        int http = ClusterTestSupport.FreePort();
        var env = new Dictionary<string, string>(image.File.Final.Env)
        {
            ["Silo__Clustering"] = "Redis",
            ["Silo__ConnectionString"] = $"127.0.0.1:{redis.Port}",
            ["Silo__ClusterId"] = "sslo-image-" + Guid.NewGuid().ToString("N")[..8],
            ["Silo__SiloPort"] = ClusterTestSupport.FreePort().ToString(),
            ["Silo__GatewayPort"] = ClusterTestSupport.FreePort().ToString(),
            ["Silo__HttpPort"] = http.ToString(),
            ["SslTraining__Devices"] = "cpu@1",
        };
        var home = ClusterTestSupport.TempDir("sslo-silo-home");
        var (file, args, workDir) = image.Process(image.File.Command, elsewhere: home);
        var (checkFile, checkArgs, checkDir) = image.Process(healthCheck!, elsewhere: home);

        var before = await Run(checkFile, checkArgs, checkDir, env, TimeSpan.FromMinutes(1));
        Assert.True(before.Code == 1, $"the HEALTHCHECK passed with no silo running (exit {before.Code}): {before.Err}");

        await using var silo = ServerProcess.StartIn(workDir, file, env, args);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        (int Code, string Out, string Err) check;
        while ((check = await Run(checkFile, checkArgs, checkDir, env, TimeSpan.FromMinutes(1))).Code != 0)
        {
            if (silo.HasExited) Assert.Fail($"the silo exited ({silo.ExitCode}) before its HEALTHCHECK passed: {silo.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"the HEALTHCHECK never passed: {check.Err}\n{silo.Output}");
            await Task.Delay(1000);
        }

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{http}"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(livePath)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        while ((await client.GetAsync(readyPath)).StatusCode != HttpStatusCode.OK) // Active in the membership just after the port opens
        {
            Assert.True(DateTime.UtcNow < deadline, $"{readyPath} never answered 200: {silo.Output}");
            await Task.Delay(200);
        }

        // SIGTERM (what Kubernetes and docker stop send): readiness must answer 503, with its reason, while the silo
        // leaves, and never 200 again; the port closes before the process ends, which ends cleanly.
        ClusterTestSupport.Signal(silo.Pid, 15);
        var seen = new List<string>();
        string? notReady = null;
        using var quick = new HttpClient { BaseAddress = client.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var stopBy = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!silo.HasExited && DateTime.UtcNow < stopBy)
        {
            try
            {
                using var response = await quick.GetAsync(readyPath);
                seen.Add(((int)response.StatusCode).ToString());
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable) notReady ??= await response.Content.ReadAsStringAsync();
                else Assert.True(notReady is null, $"{readyPath} answered {(int)response.StatusCode} after it had answered 503: {string.Join(' ', seen)}");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                seen.Add("closed");
            }
            await Task.Delay(10);
        }
        using (var exit = new CancellationTokenSource(TimeSpan.FromMinutes(1))) await silo.WaitForExitAsync(exit.Token);
        Assert.True(notReady is not null, $"{readyPath} never answered 503 between SIGTERM and the exit: {string.Join(' ', seen.Distinct())}\n{silo.Output}");
        Assert.Contains("shutting down", notReady);
        Assert.Equal(0, silo.ExitCode);
        var after = await Run(checkFile, checkArgs, checkDir, env, TimeSpan.FromMinutes(1));
        Assert.Equal(1, after.Code);
    }

    /// <summary>The publish commands of the Makefile's build target, as written there.</summary>
    private static List<string> MakefileBuildCommands()
    {
        var lines = File.ReadAllLines(Path.Combine(ClusterTestSupport.RepoRoot, "Makefile"));
        var start = Array.FindIndex(lines, l => l.StartsWith("build:", StringComparison.Ordinal));
        Assert.True(start >= 0, "the Makefile has no build target");
        return lines.Skip(start + 1).TakeWhile(l => l.StartsWith('\t')).Select(l => l.Trim())
            .Where(l => l.StartsWith("dotnet publish", StringComparison.Ordinal)).ToList();
    }

    private static async Task<(int Code, string Out, string Err)> Run(string file, string[] args, string workDir,
        IReadOnlyDictionary<string, string> env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); throw new TimeoutException($"{file} {string.Join(' ', args)} ran past {timeout}"); }
        return (p.ExitCode, await stdout, await stderr);
    }
}
