using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data.Images;
using SslOrleans.Storage;
using SslOrleans.Storage.Blobs;
using SslOrleans.Storage.Data;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo data pack SRC --to DEST [--shard-size 1GB]: an image folder (ROOT/CLASS/IMAGE, with train/ and test/ splits
/// when present; local or az://) as WebDataset tar shards with an index.json, written to a local folder or uploaded to
/// az://. The images' bytes are kept as they are; labels go beside them as KEY.cls.
/// </summary>
public static class DataPackCommand
{
    public static Command Create()
    {
        var source = Flag.Positional("SRC", "The image folder: ROOT/CLASS/IMAGE, with train/ and test/ (or val/) splits when present; a folder or az://CONTAINER/PREFIX",
            "SRC is missing: the image folder to pack");
        var to = Flag.Text("--to", "DEST", "Where the shards go: a new or empty folder, or az://CONTAINER/PREFIX; required");
        var shardSize = Flag.Text("--shard-size", "SIZE", "The largest shard: 1GB, 512MB, 64MiB or bytes", "1GB");
        var command = new Command("pack", "Writes an image folder as WebDataset tar shards (KEY.jpg|png + KEY.cls) with an index.json, keeping its splits and labels")
        {
            source, to, shardSize,
        };
        command.SetAction(async (parsed, _) =>
        {
            var destination = parsed.GetValue(to) ?? throw parsed.Problem("--to DEST is required");
            long bytes;
            try
            {
                bytes = ByteSize.Parse(parsed.GetValue(shardSize)!);
            }
            catch (FormatException e)
            {
                throw parsed.Problem($"--shard-size: {e.Message}");
            }
            if (bytes < 1 << 20) throw parsed.Problem($"--shard-size {parsed.GetValue(shardSize)}: give at least 1MiB");
            return await PackAsync(parsed.GetValue(source)!, destination, bytes, parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    private static async Task<int> PackAsync(string source, string destination, long shardBytes, TextWriter stdout, TextWriter stderr)
    {
        var clock = Stopwatch.StartNew();
        var root = await DataLocations.LocalFolderAsync(source, "pack: SRC");
        var target = StorageLocation.Parse(destination, "pack: --to");
        // Shards for blob storage are written locally first, then go up with their sha256 (as `data upload` does).
        var folder = target.IsBlob ? Path.Combine(Path.GetTempPath(), "sslo-pack-" + Guid.NewGuid().ToString("N")) : Path.GetFullPath(target.Text);
        try
        {
            var last = Stopwatch.StartNew();
            TarShardIndex index;
            try
            {
                index = DatasetPacker.Pack(root, folder, shardBytes, new SyncProgress<(int Done, int Total)>(p =>
                {
                    if (p.Done < p.Total && last.Elapsed < TimeSpan.FromSeconds(5)) return;
                    last.Restart();
                    stderr.WriteLine($"sslo: packed {p.Done}/{p.Total} images");
                }));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
            {
                throw new SpecException($"pack: {e.Message}");
            }
            if (target.IsBlob)
            {
                var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
                var uploaded = await BlobFolderUpload.UploadAsync(new BlobAccount(new StorageOptions().WithEnvironment()), target, files, root: folder);
                stderr.WriteLine($"sslo: uploaded {uploaded.Count} files ({uploaded.Sum(f => f.Bytes)} bytes) to {target}");
            }
            foreach (var (split, info) in index.Splits)
                stderr.WriteLine($"sslo: {split}: {info.Samples} samples in {info.Shards.Count} shards");
            stdout.WriteLine(JsonSerializer.Serialize(new
            {
                source,
                to = target.Text,
                classes = index.ClassNames.Count,
                splits = index.Splits.ToDictionary(s => s.Key, s => new { samples = s.Value.Samples, shards = s.Value.Shards.Count, bytes = s.Value.Shards.Sum(x => x.Bytes) }),
                seconds = Math.Round(clock.Elapsed.TotalSeconds, 2),
            }));
            return 0;
        }
        finally
        {
            if (target.IsBlob && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
