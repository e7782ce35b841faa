namespace SslOrleans.Storage.Checkpoints;

/// <summary>One step folder of a run: complete (its manifest parsed) or not (<see cref="Problem"/> says why).</summary>
public sealed record CheckpointEntry(long Step, CheckpointSummary? Summary, bool IsLatest, string? Problem)
{
    public bool IsComplete => Summary is not null;
}

/// <summary>The checkpoint a run resumes from, with what was skipped on the way and why.</summary>
public sealed record ResumePoint(CheckpointSummary Summary, byte[] Manifest, IReadOnlyList<string> Notes);

/// <summary>
/// What readers and resuming runs do with a store: list its checkpoints, verify one (every file's size and sha256
/// against its manifest), find the newest that verifies, keep the last few, download one. Works the same on every
/// <see cref="ICheckpointStore"/>.
/// </summary>
public sealed class CheckpointCatalog(ICheckpointStore store)
{
    public ICheckpointStore Store => store;

    public async Task<IReadOnlyList<CheckpointEntry>> ListAsync(CancellationToken cancellation = default)
    {
        var latest = await store.ReadLatestAsync(cancellation);
        var entries = new List<CheckpointEntry>();
        foreach (var step in await store.ListStepsAsync(cancellation))
        {
            var (summary, problem) = await TryReadAsync(step, cancellation);
            entries.Add(new CheckpointEntry(step, summary, step == latest, problem));
        }
        return entries;
    }

    /// <summary>The step asked for, or the one <c>latest</c> names; an error naming the location when there is none.</summary>
    public async Task<long> ResolveStepAsync(long? step, CancellationToken cancellation = default)
    {
        if (step is { } s) return s;
        return await store.ReadLatestAsync(cancellation)
            ?? throw new FileNotFoundException($"{store.Location}: no complete checkpoint here (no '{CheckpointNames.Latest}')");
    }

    /// <summary>The manifest of a step, parsed; an error naming it when it is missing or not a manifest.</summary>
    public async Task<(CheckpointSummary Summary, byte[] Manifest)> ReadAsync(long step, CancellationToken cancellation = default)
    {
        var bytes = await store.ReadManifestAsync(step, cancellation)
            ?? throw new FileNotFoundException($"{Name(step, CheckpointNames.Manifest)} does not exist: step {step} has no complete checkpoint");
        return (CheckpointSummary.Parse(bytes, Name(step, CheckpointNames.Manifest)), bytes);
    }

    /// <summary>Reads every file the manifest lists and compares size and sha256; one line per problem, empty when it verifies.</summary>
    public async Task<IReadOnlyList<string>> VerifyAsync(CheckpointSummary summary, CancellationToken cancellation = default)
    {
        var problems = new List<string>();
        foreach (var f in summary.Files)
        {
            try
            {
                await using var stream = await store.OpenReadAsync(summary.Step, f.Name, cancellation);
                var (sha, bytes) = await CheckpointFiles.HashAsync(stream, null, cancellation);
                if (bytes != f.Bytes) problems.Add($"{Name(summary.Step, f.Name)}: {bytes} bytes, the manifest says {f.Bytes}");
                if (sha != f.Sha256) problems.Add($"{Name(summary.Step, f.Name)}: sha256 {sha}, the manifest says {f.Sha256}");
            }
            catch (FileNotFoundException)
            {
                problems.Add($"{Name(summary.Step, f.Name)}: missing");
            }
        }
        return problems;
    }

    /// <summary>
    /// The newest checkpoint whose manifest and files verify. Newer ones that do not (a torn or corrupted upload) are
    /// named in the notes and removed with the leftovers of unfinished checkpoints, because the resumed run writes
    /// those steps again; <c>latest</c> is pointed back at the checkpoint chosen. Null when none verifies.
    /// </summary>
    public async Task<ResumePoint?> FindResumableAsync(CancellationToken cancellation = default)
    {
        var notes = new List<string>();
        var steps = await store.ListStepsAsync(cancellation);
        ResumePoint? chosen = null;
        var abandoned = new List<long>();
        foreach (var step in steps.Reverse())
        {
            var bytes = await store.ReadManifestAsync(step, cancellation);
            if (bytes is null)
            {
                notes.Add($"{Name(step, "")}: unfinished (no {CheckpointNames.Manifest}); removed");
                abandoned.Add(step);
                continue;
            }
            CheckpointSummary summary;
            try { summary = CheckpointSummary.Parse(bytes, Name(step, CheckpointNames.Manifest)); }
            catch (InvalidDataException e)
            {
                notes.Add($"{e.Message}; skipped and removed");
                abandoned.Add(step);
                continue;
            }
            var problems = await VerifyAsync(summary, cancellation);
            if (problems.Count > 0)
            {
                notes.Add($"{Name(step, "")} does not verify ({string.Join("; ", problems)}); skipped and removed");
                abandoned.Add(step);
                continue;
            }
            chosen = new ResumePoint(summary, bytes, notes);
            break;
        }
        if (chosen is null) return null;
        foreach (var step in abandoned) await store.DeleteStepAsync(step, cancellation);
        if (await store.ReadLatestAsync(cancellation) != chosen.Summary.Step)
            await store.MoveLatestAsync(chosen.Summary.Step, rewind: true, cancellation);
        return chosen;
    }

    /// <summary>
    /// Deletes complete checkpoints older than the newest <paramref name="keepLast"/>, never the one <c>latest</c>
    /// names, and unfinished ones older than <c>latest</c> (failed uploads; a newer one may still be in flight).
    /// Returns the steps deleted.
    /// </summary>
    public async Task<IReadOnlyList<long>> PruneAsync(int keepLast, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keepLast, 1);
        var latest = await store.ReadLatestAsync(cancellation);
        var complete = new List<long>();
        var deleted = new List<long>();
        foreach (var step in await store.ListStepsAsync(cancellation))
        {
            if (await store.ReadManifestAsync(step, cancellation) is not null) complete.Add(step);
            else if (latest is { } l && step < l) deleted.Add(step);
        }
        deleted.AddRange(complete.OrderDescending().Skip(keepLast).Where(s => s != latest));
        foreach (var step in deleted) await store.DeleteStepAsync(step, cancellation);
        return deleted;
    }

    /// <summary>Copies a checkpoint's files and manifest into <paramref name="folder"/>, checking each file's sha256 on the way.</summary>
    public async Task DownloadAsync(CheckpointSummary summary, byte[] manifest, string folder, CancellationToken cancellation = default)
    {
        Directory.CreateDirectory(folder);
        foreach (var f in summary.Files)
        {
            var path = Path.Combine(folder, f.Name);
            var tmp = path + ".part";
            await using (var source = await store.OpenReadAsync(summary.Step, f.Name, cancellation))
            await using (var target = File.Create(tmp))
            {
                var (sha, bytes) = await CheckpointFiles.HashAsync(source, target, cancellation);
                if (sha != f.Sha256 || bytes != f.Bytes)
                {
                    target.Close();
                    File.Delete(tmp);
                    throw new InvalidDataException($"{Name(summary.Step, f.Name)}: {bytes} bytes with sha256 {sha}, the manifest says {f.Bytes} bytes with sha256 {f.Sha256}");
                }
            }
            File.Move(tmp, path, overwrite: true);
        }
        await File.WriteAllBytesAsync(Path.Combine(folder, CheckpointNames.Manifest), manifest, cancellation);
    }

    /// <summary>Reads a file of a checkpoint whole, checking it against its manifest entry.</summary>
    public async Task<byte[]> ReadFileAsync(CheckpointSummary summary, string name, CancellationToken cancellation = default)
    {
        var entry = summary.Files.FirstOrDefault(f => f.Name == name)
            ?? throw new FileNotFoundException($"{Name(summary.Step, name)}: the manifest lists no such file", name);
        return await CheckpointFiles.ReadVerifiedAsync(store, summary.Step, entry, Name(summary.Step, name), cancellation);
    }

    public string Name(long step, string file) => $"{store.Location}/{CheckpointNames.Folder(step)}{(file.Length > 0 ? "/" + file : "")}";

    private async Task<(CheckpointSummary?, string?)> TryReadAsync(long step, CancellationToken cancellation)
    {
        var bytes = await store.ReadManifestAsync(step, cancellation);
        if (bytes is null) return (null, $"unfinished: no {CheckpointNames.Manifest}");
        try { return (CheckpointSummary.Parse(bytes, Name(step, CheckpointNames.Manifest)), null); }
        catch (InvalidDataException e) { return (null, e.Message); }
    }
}
