namespace SslOrleans.Core.Data.Images;

/// <summary>
/// Packs an image folder (see <see cref="ImageFolderReader"/>) into WebDataset tar shards that
/// <see cref="TarShardReader"/> reads back with the same labels and pixels: a folder with train/ and test/ (or val/)
/// gives DEST/train/shard-000000.tar … and DEST/test/…, a single-split folder gives DEST/shard-000000.tar …;
/// DEST/index.json lists per split the shards and sample counts, and the class names.
/// Images keep their encoded bytes and extension; keys are the running sample index, zero-padded.
/// Files in the folder that are not images by extension are left out (a dataset check reports them).
/// </summary>
public static class DatasetPacker
{
    /// <param name="shardBytes">A new shard starts when the next sample would take the current one past this size; a
    /// sample larger than it gets a shard of its own.</param>
    /// <param name="progress">Samples done and total, over all splits.</param>
    public static TarShardIndex Pack(string imageFolderRoot, string destination, long shardBytes, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shardBytes);
        if (Directory.Exists(destination) && Directory.EnumerateFileSystemEntries(destination).Any())
        {
            throw new IOException($"pack: destination {destination} is not empty; give a new or empty folder");
        }

        var splits = DatasetSplits.HasSplitFolders(imageFolderRoot)
            ? new[] { DatasetSplits.Train, DatasetSplits.Test }
            : [DatasetSplits.Train];
        var readers = splits.Select(split => new ImageFolderReader(imageFolderRoot, split)).ToArray();
        try
        {
            int total = readers.Sum(r => r.Count), done = 0;
            var index = new Dictionary<string, TarSplitIndex>();
            for (int s = 0; s < splits.Length; s++)
            {
                var folder = splits.Length == 1 ? destination : Path.Combine(destination, splits[s]);
                Directory.CreateDirectory(folder);
                index[splits[s]] = PackSplit(readers[s], folder, shardBytes, () => progress?.Report((++done, total)));
            }

            var result = new TarShardIndex(readers[0].ClassNames, index);
            result.Save(Path.Combine(destination, TarShardIndex.FileName));
            return result;
        }
        finally
        {
            foreach (var reader in readers)
            {
                reader.Dispose();
            }
        }
    }

    private static TarSplitIndex PackSplit(ImageFolderReader reader, string folder, long shardBytes, Action sampleDone)
    {
        var shards = new List<TarShardInfo>();
        TarShardWriter? writer = null;
        int key = 0;
        try
        {
            for (int i = 0; i < reader.Count; i++)
            {
                if (reader.IsImageFile(i))
                {
                    var path = reader.Describe(i);
                    var image = File.ReadAllBytes(path);
                    int label = reader.Label(i);
                    if (writer is not null && writer.Samples > 0 && writer.Bytes + TarShardWriter.SampleBytes(image.LongLength, label) > shardBytes)
                    {
                        Close(writer, shards);
                        writer = null;
                    }

                    writer ??= new TarShardWriter(Path.Combine(folder, $"shard-{shards.Count:D6}.tar"));
                    writer.Add(key.ToString("D9"), Path.GetExtension(path), image, label);
                    key++;
                }

                sampleDone();
            }

            if (writer is not null)
            {
                Close(writer, shards);
                writer = null;
            }
        }
        finally
        {
            writer?.Dispose();
        }

        if (shards.Count == 0)
        {
            throw new InvalidDataException($"pack: {reader.Name} has no image files to pack");
        }

        return new TarSplitIndex(key, shards);
    }

    private static void Close(TarShardWriter writer, List<TarShardInfo> shards)
    {
        writer.Dispose();
        shards.Add(new TarShardInfo(Path.GetFileName(writer.Path), writer.Samples, writer.Bytes));
    }
}
