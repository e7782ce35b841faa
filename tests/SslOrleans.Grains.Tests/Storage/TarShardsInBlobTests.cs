using SslOrleans.Grains.Tests.Cluster;
using SslOrleans.Grains.Tests.Data;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>Tar shards in blob storage (Azurite): `sslo data pack` uploads them, `sslo data inspect` and a run read
/// them through the blob cache.</summary>
[Trait("Category", SslOrleans.Tests.TestCategories.Plumbing)]
[Collection(AzuriteBlobCollection.Name)]
public sealed class TarShardsInBlobTests(AzuriteBlobFixture azurite)
{
    private static readonly string Sslo = Path.Combine(AppContext.BaseDirectory, "sslo");

    private Task<(int Code, string Out, string Err)> SsloAsync(params string[] args) =>
        ClusterTestSupport.RunAsync(Sslo, args, azurite.Environment, TimeSpan.FromMinutes(4));

    [Fact]
    public async Task A_run_reads_tar_shards_packed_into_blob_storage()
    {
        var folder = ColourImageFolder.Write(trainPerClass: 12, testPerClass: 4, seed: 3);
        var shards = $"az://data/shards-{Guid.NewGuid():N}";
        var run = Path.Combine(Path.GetTempPath(), "sslo-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var (code, stdout, stderr) = await SsloAsync("data", "pack", folder, "--to", shards, "--shard-size", "1MiB");
            Assert.True(code == 0, stderr);
            Assert.Contains($"to {shards}", stderr);

            (code, stdout, stderr) = await SsloAsync("data", "inspect", shards, "--image-size", "32");
            Assert.True(code == 0, stderr);
            var inspected = BlobRunTests.LastJson(stdout);
            Assert.Equal("tar", inspected.GetProperty("dataset").GetString());
            Assert.Equal([36, 12], inspected.GetProperty("splits").EnumerateArray().Select(s => s.GetProperty("good").GetInt32()));

            (code, stdout, stderr) = await SsloAsync("pretrain", "--dataset", "tar", "--data", shards, "--image-size", "32", "--width", "4",
                "--hidden-dim", "16", "--projection-dim", "8", "--workers", "2", "--batch", "24", "--micro-batch", "12", "--steps", "3",
                "--knn-k", "5", "--out", run);
            Assert.True(code == 0, stderr);
            var result = BlobRunTests.LastJson(stdout);
            Assert.Equal(("completed", 3L), (result.GetProperty("state").GetString(), result.GetProperty("steps").GetInt64()));
            Assert.True(double.IsFinite(result.GetProperty("knn_top1").GetDouble()), stdout);
            Assert.True(result.GetProperty("data_seconds").GetDouble() > 0, stdout);
        }
        finally
        {
            foreach (var d in new[] { folder, run }) if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
        }
    }
}
