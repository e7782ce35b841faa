using System.Text.Json;
using Azure.Storage.Blobs;
using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Storage.Checkpoints;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>
/// Runs with --out az://… through the real `sslo` CLI (an embedded cluster in a child process) against Azurite:
/// checkpoints listed, verified and downloaded; a process killed with SIGKILL in the middle of a checkpoint and resumed;
/// Azurite stopped for 30 s while a run trains.
/// </summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
[Collection(AzuriteBlobCollection.Name)]
public sealed class BlobRunTests(AzuriteBlobFixture azurite)
{
    private static readonly string Sslo = Path.Combine(AppContext.BaseDirectory, "sslo");
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);
    private static readonly SemaphoreSlim ReferenceLock = new(1, 1);
    private static JsonElement? reference;

    /// <summary>BYOL at width 8, 30 steps of batch 64, a checkpoint every 10 steps: the run every test here compares with.</summary>
    internal static string[] RunArgs(string outLocation, params string[] extra) =>
    [
        "pretrain", "--method", "byol", "--width", "8", "--hidden-dim", "64", "--projection-dim", "32", "--batch", "64", "--micro-batch", "32",
        "--steps", "30", "--checkpoint-every", "10", "--seed", "3", "--workers", "2", "--no-eval", "--out", outLocation, .. extra,
    ];

    internal static string Unique(string name) => $"az://runs/{name}-{Guid.NewGuid():N}"[..40];

    internal static JsonElement LastJson(string stdout) =>
        JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.Clone();

    internal async Task<(int Code, string Out, string Err)> SsloAsync(params string[] args) =>
        await ClusterTestSupport.RunAsync(Sslo, args, azurite.Environment, Limit);

    /// <summary>The undisturbed run, once per test process, in az://runs/reference-….</summary>
    internal async Task<(string Location, JsonElement Result)> ReferenceAsync()
    {
        await ReferenceLock.WaitAsync();
        try
        {
            if (reference is null)
            {
                var location = Unique("reference");
                var (code, stdout, stderr) = await SsloAsync(RunArgs(location));
                Assert.True(code == 0, stderr);
                reference = JsonDocument.Parse(JsonSerializer.Serialize(new { location, result = LastJson(stdout) })).RootElement.Clone();
            }
            return (reference.Value.GetProperty("location").GetString()!, reference.Value.GetProperty("result"));
        }
        finally
        {
            ReferenceLock.Release();
        }
    }

    [Fact]
    public async Task A_blob_run_writes_checkpoints_that_list_verify_and_download_for_PyTorch()
    {
        var (location, result) = await ReferenceAsync();
        Assert.Equal($"{location}/step-00000030/manifest.json", result.GetProperty("checkpoint").GetString());

        var (code, stdout, stderr) = await SsloAsync("checkpoint", "list", location);
        Assert.True(code == 0, stderr);
        var listed = LastJson(stdout);
        Assert.Equal(30, listed.GetProperty("latest").GetInt64());
        var checkpoints = listed.GetProperty("checkpoints").EnumerateArray().ToList();
        Assert.Equal([10L, 20, 30], checkpoints.Select(c => c.GetProperty("step").GetInt64()));
        Assert.All(checkpoints, c => Assert.True(c.GetProperty("complete").GetBoolean()));
        Assert.Equal(result.GetProperty("param_l2").GetDouble(), checkpoints[^1].GetProperty("metrics").GetProperty("param_l2").GetDouble());
        Assert.Contains("step-00000030 (latest)", stdout);

        foreach (var step in new[] { "10", "20", "30" })
        {
            (code, stdout, stderr) = await SsloAsync("checkpoint", "verify", location, "--step", step);
            Assert.True(code == 0, stderr);
            Assert.StartsWith($"ok {location}/step-000000{step}/manifest.json", stdout.Trim());
        }

        var folder = ClusterTestSupport.TempDir("sslo-download");
        (code, stdout, stderr) = await SsloAsync("checkpoint", "download", location, "--to", folder, "--format", "pytorch");
        Assert.True(code == 0, stderr);
        foreach (var name in new[] { "backbone.safetensors", "online_probe.safetensors", "shard-0.bin", "shard-1.bin", "manifest.json", "backbone.pt", "model.json" })
            Assert.True(File.Exists(Path.Combine(folder, name)), $"{name} missing in {folder}: {stdout}");
        var (python, output) = await ConsumerSnippetCheck.RunAsync(location, folder, azurite.Options);
        Assert.True(python == 0, output);
    }

    [Fact]
    public async Task A_process_killed_in_the_middle_of_a_blob_checkpoint_resumes_from_the_previous_one_and_ends_like_an_undisturbed_run()
    {
        var (_, undisturbed) = await ReferenceAsync();
        var location = Unique("killed");
        // A slow link to Azurite (2 MB/s up): a checkpoint takes about a second, and the kill lands inside one.
        await using var proxy = new ThrottledProxy(azurite.Port, 2 << 20);
        var env = azurite.Environment;
        env[SslOrleans.Storage.StorageOptions.EnvironmentVariable] = azurite.ConnectionString.Replace($":{azurite.Port}/", $":{proxy.Port}/");
        await using var run = ServerProcess.Start(Sslo, env, RunArgs(location));
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("runs");
        var prefix = location["az://runs/".Length..] + "/";
        string? seen = null;
        using (var wait = new CancellationTokenSource(Limit))
        {
            while (seen is null)
            {
                Assert.False(run.HasExited, $"the run ended before its second checkpoint started: {run.Output}");
                await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix + "step-00000020/" }, wait.Token))
                    seen ??= blob.Name;
                if (seen is null) await Task.Delay(20, wait.Token);
            }
        }
        ClusterTestSupport.Signal(run.Pid, 9);
        using (var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30))) await run.WaitForExitAsync(exit.Token);

        // Killed after a file of step 20 was written and before its manifest: latest still names step 10.
        var store = new CheckpointStoreFactory(azurite.Options).Open(location);
        Assert.True(await store.ReadManifestAsync(20) is null, $"the kill came after step 20 committed (first blob seen: {seen})");
        Assert.Equal(10, await store.ReadLatestAsync());

        var (code, stdout, stderr) = await SsloAsync(RunArgs(location, "--resume"));
        Assert.True(code == 0, stderr);
        var resumed = LastJson(stdout);
        Assert.Equal(30, resumed.GetProperty("steps").GetInt64());
        Assert.Equal(undisturbed.GetProperty("param_l2").GetDouble(), resumed.GetProperty("param_l2").GetDouble());
        // The unfinished checkpoint was named and removed before the run wrote step 20 again.
        Assert.Contains(resumed.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("step-00000020: unfinished"));
        Assert.Empty((await Runs.RunHarness.VerifyLatestAsync(location, azurite.Options)).Problems);
    }

    [Fact]
    public async Task A_corrupted_blob_is_named_by_verify_and_skipped_by_resume_with_the_reason()
    {
        var location = Unique("corrupt");
        var (code, stdout, stderr) = await SsloAsync(RunArgs(location, "--steps", "20"));
        Assert.True(code == 0, stderr);

        // One byte flipped in the newest checkpoint's second shard.
        var blob = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("runs")
            .GetBlobClient(location["az://runs/".Length..] + "/step-00000020/shard-1.bin");
        var bytes = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        bytes[bytes.Length / 2] ^= 0x01;
        await blob.UploadAsync(new BinaryData(bytes), overwrite: true);

        (code, stdout, stderr) = await SsloAsync("checkpoint", "verify", location);
        Assert.Equal(1, code);
        Assert.StartsWith($"corrupt {location}/step-00000020/manifest.json", stdout.Trim());
        Assert.Contains($"{location}/step-00000020/shard-1.bin: sha256", stderr);
        (code, _, stderr) = await SsloAsync("checkpoint", "verify", location, "--step", "10");
        Assert.True(code == 0, stderr);

        (code, stdout, stderr) = await SsloAsync(RunArgs(location, "--steps", "20", "--resume"));
        Assert.True(code == 0, stderr);
        var resumed = LastJson(stdout);
        Assert.Contains(resumed.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("step-00000020 does not verify") && w.GetString()!.Contains("shard-1.bin: sha256"));
        Assert.Contains("sslo: warning: resume:", stderr);
        Assert.Equal(20, resumed.GetProperty("steps").GetInt64());
        Assert.Empty((await Runs.RunHarness.VerifyLatestAsync(location, azurite.Options)).Problems);
    }

    [Fact]
    public async Task Beit_reads_its_tokenizer_from_blob_storage()
    {
        var tokenizer = $"az://tokenizers/tiny-{Guid.NewGuid():N}"[..36];
        var (code, stdout, stderr) = await SsloAsync("data", "upload", "--from", Runs.RunHarness.TinyTokenizer.Value, "--to", tokenizer);
        Assert.True(code == 0, stderr);
        Assert.Equal(["tokenizer.json", "tokenizer.safetensors"], LastJson(stdout).GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()));

        var location = Unique("beit");
        (code, stdout, stderr) = await SsloAsync("pretrain", "--method", "beit", "--tokenizer", tokenizer, "--patch-size", "7", "--width", "4",
            "--batch", "32", "--micro-batch", "16", "--steps", "2", "--workers", "2", "--no-eval", "--out", location);
        Assert.True(code == 0, stderr);
        Assert.Equal(2, LastJson(stdout).GetProperty("steps").GetInt64());

        // A tokenizer location that holds nothing is named before anything trains.
        (code, _, stderr) = await SsloAsync("pretrain", "--method", "beit", "--tokenizer", "az://tokenizers/none", "--patch-size", "7", "--width", "4",
            "--batch", "32", "--micro-batch", "16", "--steps", "2", "--workers", "2", "--no-eval", "--out", Unique("beit-none"));
        Assert.NotEqual(0, code);
        Assert.Contains("tokenizer: az://tokenizers/none holds no blobs", stderr);
    }
}
