using SslOrleans.Abstractions.Runs;
using SslOrleans.Grains.Runs;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Hosting;

namespace SslOrleans.Grains.Tests.Runs;

/// <summary>
/// A silo process configured with run limits (SslTraining:MaxParameters, MaxBatch, MaxMicroBatch) and allowed roots
/// (Storage:AllowedRoots) refuses specs over them at submission, naming the key, and writes nothing; a spec within them
/// then trains on the same silo.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
public sealed class RunLimitsTests
{
    [Fact]
    public async Task Specs_over_the_silo_s_limits_or_outside_its_roots_are_refused_naming_the_key_and_nothing_is_written()
    {
        var root = ClusterTestSupport.TempDir("sslo-limits");
        var allowed = Directory.CreateDirectory(Path.Combine(root, "allowed")).FullName;
        var outside = Directory.CreateDirectory(Path.Combine(root, "outside")).FullName;
        // A link planted inside the allowed root that leads out of it.
        Directory.CreateSymbolicLink(Path.Combine(allowed, "escape"), outside);
        var silo = Path.Combine(ClusterTestSupport.RepoRoot, "artifacts", "silo", "SslOrleans.Silo.dll");
        await using var cluster = await LocalSiloProcesses.StartAsync(silo, 1, slotsPerSilo: 2, TextWriter.Null, environment: new Dictionary<string, string>
        {
            ["SslTraining__MaxParameters"] = "2000000",
            ["SslTraining__MaxBatch"] = "512",
            ["SslTraining__MaxMicroBatch"] = "64",
            ["Storage__AllowedRoots"] = $"{allowed};az://sslo-allowed/runs",
        });
        var client = new Client.TrainingClient(cluster.Client);
        var spec = RunHarness.Tiny("limits", steps: 2) with { Out = Path.Combine(allowed, "run") };

        async Task Refused(RunSpec bad, params string[] expected)
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => client.SubmitAsync(bad with { RunId = $"{bad.RunId[..20]}{Guid.NewGuid():N}"[..30] }));
            foreach (var text in expected) Assert.Contains(text, e.Message);
            Assert.Equal(["escape"], Directory.GetFileSystemEntries(allowed).Select(Path.GetFileName));
            Assert.Empty(Directory.GetFileSystemEntries(outside));
        }

        await Refused(spec with { Batch = 1024, MicroBatch = 64, Workers = 2 }, "batch: 1024 is over this silo's limit SslTraining:MaxBatch = 512");
        await Refused(spec with { Batch = 256, MicroBatch = 128 }, "micro_batch: 128 is over this silo's limit SslTraining:MaxMicroBatch = 64");
        await Refused(spec with { Width = 64, HiddenDim = 0, ProjectionDim = 0 }, "width: 64 gives a byol model of", "over this silo's limit SslTraining:MaxParameters = 2,000,000");
        await Refused(spec with { Out = Path.Combine(outside, "run") }, $"out: {outside}/run is outside the locations this silo allows (Storage:AllowedRoots: {allowed}, az://sslo-allowed/runs)");
        await Refused(spec with { Out = Path.Combine(allowed, "escape", "run") }, $"out: {allowed}/escape/run (resolved: {outside}/run) is outside");
        await Refused(spec with { Out = Path.Combine(allowed, "..", "outside", "run") }, $"out: {outside}/run is outside");
        await Refused(spec with { Out = "az://sslo-allowed/runsx/a" }, "out: az://sslo-allowed/runsx/a is outside");
        await Refused(spec with { Out = "az://other/runs/a" }, "out: az://other/runs/a is outside");
        await Refused(spec with { Dataset = "imagefolder", Data = outside }, $"data: {outside} is outside");

        // Within the limits and the roots: the same silo trains it.
        var end = await RunHarness.RunToEndAsync(cluster.Client, spec);
        Assert.True(end.State == RunState.Completed, end.Error);
        Assert.True(File.Exists(Path.Combine(allowed, "run", "latest")));
        Directory.Delete(root, recursive: true);
    }

    /// <summary>The count without building the model at its width equals the count of the model built, for every method and
    /// backbone, at widths that are multiples of four; at other widths it is an upper bound.</summary>
    [Theory]
    [InlineData("byol", "resnet18", 32)]
    [InlineData("simclr", "resnet18", 36)]
    [InlineData("barlow", "resnet50", 24)]
    [InlineData("rotnet", "resnet18", 28)]
    [InlineData("mae", "vit-tiny", 32)]
    [InlineData("byol", "vit-tiny", 24)]
    public void The_parameter_estimate_equals_the_built_model_s_count(string method, string backbone, int width)
    {
        var spec = RunHarness.Tiny("estimate") with { Method = method, Backbone = backbone, HiddenDim = 0, ProjectionDim = 0 };
        if (backbone == "vit-tiny") spec = spec with { PatchSize = 7 };
        Assert.Equal(ParameterEstimate.Count(spec, width), ParameterEstimate.Of(spec with { Width = width }));
        long above = ParameterEstimate.Of(spec with { Width = width - 1 });
        Assert.True(above >= ParameterEstimate.Count(spec, width - 1), $"width {width - 1}: the estimate {above} is below the count");
    }
}
