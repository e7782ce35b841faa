using System.CommandLine;
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
/// sslo data pack SRC --to DEST: an image folder as WebDataset tar shards (DataPackCommand.cs); sslo data inspect
/// LOCATION: counts, classes and bad samples of a dataset (DataInspectCommand.cs); sslo data make-colour-fashion --to DIR:
/// an RGB image folder made from Fashion-MNIST (DataMakeColourFashionCommand.cs).
/// </summary>
[Verb(50)]
public static class DataCommand
{
    public static Command Create() => Sslo.Group("data", "Datasets: pack image folders into tar shards, inspect them, make colour Fashion-MNIST, put them into blob storage",
        DataPackCommand.Create(), DataInspectCommand.Create(), DataMakeColourFashionCommand.Create(), Upload());

    private static Command Upload()
    {
        var dataset = Flag.Text("--dataset", "NAME", "The dataset whose files to upload", "fashion-mnist");
        var data = Flag.Text("--data", "DIR", "The folder with the dataset's files (default: the system locations, Debian's package)");
        var from = Flag.Text("--from", "DIR", "Upload every file of this folder instead (e.g. a tokenizer for --tokenizer az://…)");
        var to = Flag.Text("--to", "az://CONTAINER/PREFIX", "Where to put the files; required");
        var command = new Command("upload",
            "Puts the dataset's files (or a folder's) into blob storage, each with its sha256, for pretrain's --data / --tokenizer az://…")
        {
            dataset, data, from, to,
        };
        command.SetAction(async (parsed, _) =>
        {
            var target = StorageLocation.Parse(parsed.GetValue(to) ?? throw parsed.Problem("--to is required"), "--to");
            if (parsed.Given(from) && (parsed.Given(data) || parsed.Given(dataset)))
                throw parsed.Problem("give --from DIR or --dataset/--data, not both");
            return await UploadAsync(parsed.GetValue(dataset)!, parsed.GetValue(data), parsed.GetValue(from), target, parsed.Stdout(), parsed.Stderr());
        });
        return command;
    }

    private static async Task<int> UploadAsync(string dataset, string? data, string? from, StorageLocation to, TextWriter stdout, TextWriter stderr)
    {
        if (dataset != "fashion-mnist") throw new SpecException($"data upload: --dataset '{dataset}' is unknown; known: fashion-mnist");
        if (!to.IsBlob) throw new SpecException($"data upload: --to {to}: give az://CONTAINER/PREFIX (a local folder needs no upload)");
        string[] files;
        if (from is not null)
        {
            if (!Directory.Exists(from)) throw new SpecException($"data upload: --from {from} is not a folder");
            files = Directory.GetFiles(from).Order(StringComparer.Ordinal).ToArray();
            if (files.Length == 0) throw new SpecException($"data upload: --from {from} holds no files");
            dataset = Path.GetFileName(Path.GetFullPath(from).TrimEnd('/'));
        }
        else files = FashionMnist.Files(data);
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
