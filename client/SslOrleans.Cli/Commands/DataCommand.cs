using System.Text.Json;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data;
using SslOrleans.Storage;
using SslOrleans.Storage.Blobs;
using SslOrleans.Storage.Data;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo data upload --dataset fashion-mnist [--data DIR] --to az://CONTAINER/PREFIX: puts a dataset's files into blob
/// storage (each with its sha256 as metadata), so that `pretrain --data az://…` reads them on every silo.
/// --from DIR uploads every file of a folder instead, e.g. a BEiT tokenizer for `--tokenizer az://…`.
/// </summary>
public static class DataCommand
{
    public const string Usage = "usage: sslo data upload [--dataset fashion-mnist] [--data DIR] | --from DIR  --to az://CONTAINER/PREFIX";

    public static async Task<int> UploadAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var flags = CommandFlags.Parse(args, "data upload", Usage, ["dataset", "data", "from", "to"], []);
        var dataset = flags.Text("dataset") ?? "fashion-mnist";
        if (dataset != "fashion-mnist") throw new SpecException($"data upload: --dataset '{dataset}' is unknown; known: fashion-mnist");
        var to = StorageLocation.Parse(flags.Text("to") ?? throw new SpecException($"data upload: --to is required; {Usage}"), "--to");
        if (!to.IsBlob) throw new SpecException($"data upload: --to {to}: give az://CONTAINER/PREFIX (a local folder needs no upload)");
        string[] files;
        if (flags.Text("from") is { } from)
        {
            if (flags.Has("data") || flags.Has("dataset")) throw new SpecException("data upload: give --from DIR or --dataset/--data, not both");
            if (!Directory.Exists(from)) throw new SpecException($"data upload: --from {from} is not a folder");
            files = Directory.GetFiles(from).Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0) throw new SpecException($"data upload: --from {from} holds no files");
            dataset = Path.GetFileName(Path.GetFullPath(from).TrimEnd('/'));
        }
        else files = FashionMnist.Files(flags.Text("data"));
        var options = new StorageOptions().WithEnvironment();
        var uploaded = await BlobFolderUpload.UploadAsync(new BlobAccount(options), to, files);
        foreach (var (name, bytes, sha) in uploaded) stderr.WriteLine($"sslo: {to}/{name}  {bytes} bytes  sha256 {sha}");
        stdout.WriteLine(JsonSerializer.Serialize(new
        {
            dataset,
            to = to.Text,
            files = uploaded.Select(f => new { name = f.Name, bytes = f.Bytes, sha256 = f.Sha256 }),
        }));
        return 0;
    }
}
