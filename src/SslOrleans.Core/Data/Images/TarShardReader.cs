using System.Buffers;
using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;

namespace SslOrleans.Core.Data.Images;

/// <summary>
/// WebDataset-style tar shards: the <c>*.tar</c> files of a folder sorted by name (splits in train/ and test/
/// subfolders by the rule of <see cref="DatasetSplits"/>). A sample is the members sharing a key (the name without
/// its last extension) within a shard: one image (.jpg .jpeg .png .webp .bmp .gif) and optionally a <c>.cls</c>
/// holding the label as ASCII digits; other members (.json, .txt) are ignored. The shards are read once to index each
/// image's offset and length; <see cref="Read"/> then reads only that member with <see cref="RandomAccess"/>, which
/// is thread-safe and needs no shared stream position. Classes come from index.json at the root when present
/// (see <see cref="DatasetPacker"/>), else max label + 1.
/// </summary>
public sealed class TarShardReader : ISampleReader
{
    private const int MaxLabelBytes = 32;

    private readonly string[] _shards;
    private readonly TarMember[] _members;
    private readonly SafeFileHandle?[] _handles;
    private readonly Lock _openGate = new();
    private bool _disposed;

    public TarShardReader(string root, string split)
    {
        var directory = DatasetSplits.Resolve("tar", root, split);
        Name = $"tar:{directory}";
        _shards = Directory.EnumerateFiles(directory, "*.tar")
            .Where(path => !DatasetSplits.IsHidden(Path.GetFileName(path)))
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (_shards.Length == 0)
        {
            throw new InvalidDataException($"tar: {directory} has no .tar shards");
        }

        var members = new List<TarMember>();
        for (int shard = 0; shard < _shards.Length; shard++)
        {
            IndexShard(shard, members);
        }

        _members = [.. members];
        _handles = new SafeFileHandle?[_shards.Length];

        var unlabelled = _members.Where(m => m.Label < 0).Select(m => (TarMember?)m).FirstOrDefault();
        bool labelled = _members.Any(m => m.Label >= 0);
        if (labelled && unlabelled is { } missing)
        {
            throw new InvalidDataException(
                $"tar: {Describe(missing)} has no .cls label while other samples have one; label all samples or none");
        }

        var indexPath = Path.Combine(root, TarShardIndex.FileName);
        var index = File.Exists(indexPath) ? TarShardIndex.Load(indexPath) : null;
        ClassNames = index?.ClassNames.Count > 0
            ? index.ClassNames
            : labelled ? Enumerable.Range(0, _members.Max(m => m.Label) + 1).Select(l => l.ToString()).ToArray() : [];

        foreach (var member in _members)
        {
            if (member.Label >= ClassNames.Count && labelled)
            {
                throw new InvalidDataException($"tar: {Describe(member)} has label {member.Label}, but {indexPath} names {ClassNames.Count} classes");
            }
        }

        var splitName = split == "val" ? DatasetSplits.Test : split;
        if (index is not null && index.Splits.TryGetValue(splitName, out var expected) && expected.Samples != _members.Length)
        {
            throw new InvalidDataException(
                $"tar: {directory} holds {_members.Length} samples in {_shards.Length} shards, but {indexPath} says {expected.Samples} in {expected.Shards.Count}; a shard is missing or damaged");
        }
    }

    public string Name { get; }

    public int Count => _members.Length;

    public int Classes => ClassNames.Count;

    public IReadOnlyList<string> ClassNames { get; }

    public int Label(int index) => _members[CheckIndex(index)].Label;

    public string Describe(int index) => Describe(_members[CheckIndex(index)]);

    public void Read(int index, int channels, int size, Span<byte> destination)
    {
        var member = _members[CheckIndex(index)];
        var sample = Describe(member);
        var bytes = ArrayPool<byte>.Shared.Rent((int)member.Length);
        try
        {
            var span = bytes.AsSpan(0, (int)member.Length);
            var handle = Handle(member.Shard);
            int done = 0;
            while (done < span.Length)
            {
                int read;
                try
                {
                    read = RandomAccess.Read(handle, span[done..], member.Offset + done);
                }
                catch (IOException e)
                {
                    throw new BadSampleException(sample, $"cannot be read ({e.Message})", e);
                }

                if (read == 0)
                {
                    throw new BadSampleException(sample, $"truncated: the shard ends after {done} of the member's {span.Length} bytes");
                }

                done += read;
            }

            ImageDecoding.Decode(span, sample, channels, size, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    public void Dispose()
    {
        lock (_openGate)
        {
            _disposed = true;
            foreach (var handle in _handles)
            {
                handle?.Dispose();
            }
        }
    }

    private string Describe(TarMember member) => $"{_shards[member.Shard]}:{member.Name}";

    // Shards are opened on first use and kept open: one handle per shard, shared by all threads.
    private SafeFileHandle Handle(int shard)
    {
        var handle = Volatile.Read(ref _handles[shard]);
        if (handle is not null)
        {
            return handle;
        }

        lock (_openGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _handles[shard] ??= File.OpenHandle(_shards[shard], FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        }
    }

    private void IndexShard(int shard, List<TarMember> members)
    {
        var path = _shards[shard];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var tar = new TarReader(stream, leaveOpen: true);
        var images = new Dictionary<string, int>(StringComparer.Ordinal); // key → position in `members`
        var labels = new Dictionary<string, (int Label, string Member)>(StringComparer.Ordinal);
        string previous = "the first member";
        while (true)
        {
            TarEntry? entry;
            try
            {
                entry = tar.GetNextEntry(copyData: false);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException)
            {
                throw new InvalidDataException($"tar: shard {path} has a broken header after {previous}: {e.Message}", e);
            }

            if (entry is null)
            {
                break;
            }

            previous = $"member {entry.Name}";
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            {
                continue;
            }

            // TarEntry.DataOffset (.NET 9+) is where the data starts in a seekable archive, after any PAX or GNU
            // extended headers. The archive stream's Position is not: TarReader has already moved past the data by
            // the time GetNextEntry returns (tried and seen). The tests read members back at these offsets.
            long offset = entry.DataOffset, length = entry.Length;
            if (offset < 0)
            {
                throw new InvalidDataException($"tar: shard {path}: member {entry.Name} has no data offset");
            }

            if (offset + length > stream.Length)
            {
                throw new InvalidDataException(
                    $"tar: shard {path} is truncated: member {entry.Name} needs {length} bytes at offset {offset}, but the file ends at {stream.Length}");
            }

            var name = entry.Name;
            var extension = Path.GetExtension(name);
            var key = name[..^extension.Length];
            if (string.Equals(extension, ".cls", StringComparison.OrdinalIgnoreCase))
            {
                labels[key] = (ParseLabel(path, entry), name);
            }
            else if (ImageDecoding.IsImageFileName(name))
            {
                if (images.TryGetValue(key, out var first))
                {
                    throw new InvalidDataException(
                        $"tar: shard {path} has two images for key {key}: {members[first].Name} and {name}");
                }

                if (length > Array.MaxLength)
                {
                    throw new InvalidDataException($"tar: shard {path}: member {name} is too large ({length} bytes)");
                }

                images[key] = members.Count;
                members.Add(new TarMember(shard, name, offset, length, -1));
            }
        }

        foreach (var (key, (label, _)) in labels)
        {
            if (images.TryGetValue(key, out var position))
            {
                members[position] = members[position] with { Label = label };
            }
        }
    }

    private static int ParseLabel(string shard, TarEntry entry)
    {
        if (entry.Length > MaxLabelBytes || entry.DataStream is null)
        {
            throw new InvalidDataException($"tar: {shard}:{entry.Name} is no label: a .cls member holds a short ASCII integer, this has {entry.Length} bytes");
        }

        var bytes = new byte[entry.Length];
        entry.DataStream.ReadExactly(bytes);
        var text = System.Text.Encoding.ASCII.GetString(bytes).Trim();
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var label))
        {
            throw new InvalidDataException($"tar: {shard}:{entry.Name} is no label: \"{text}\" is not a non-negative integer");
        }

        return label;
    }

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)_members.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name}: sample index {index} is outside [0, {_members.Length})");
        }

        return index;
    }
}
