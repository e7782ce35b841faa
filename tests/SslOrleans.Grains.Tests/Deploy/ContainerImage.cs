using SslOrleans.Grains.Tests.Cluster;

namespace SslOrleans.Grains.Tests.Deploy;

/// <summary>
/// A Dockerfile's runtime image laid out on this machine without a container engine: each <c>COPY --from=build</c>
/// destination is the folder the project's own publish wrote (the build stage's source, relative to its WORKDIR, is a
/// path in this repository: artifacts/silo, artifacts/bin). Container paths outside every copy do not exist here.
/// </summary>
internal sealed class ContainerImage(Dockerfile file, string path)
{
    public Dockerfile File { get; } = file;

    public string Path { get; } = path;

    public static ContainerImage Read(string relative) =>
        new(Dockerfile.Read(System.IO.Path.Combine(ClusterTestSupport.RepoRoot, relative)), relative);

    /// <summary>Each copy from the build stage: where it lands in the image and the repository folder it comes from.</summary>
    public IEnumerable<(string Destination, string RepoFolder)> Copies()
    {
        foreach (var copy in File.Final.Copies)
        {
            Assert.True(copy.From is not null, $"{Path}: COPY {copy.Source} {copy.Destination} does not copy from a build stage");
            var build = File.Named(copy.From!);
            var source = copy.Source.StartsWith('/') ? copy.Source : $"{build.WorkDir.TrimEnd('/')}/{copy.Source}";
            var root = build.WorkDir.TrimEnd('/') + "/";
            Assert.True(source.StartsWith(root, StringComparison.Ordinal),
                $"{Path}: COPY --from={copy.From} {copy.Source}: not under the build stage's WORKDIR {build.WorkDir}, where the repository is");
            yield return (copy.Destination.TrimEnd('/'), source[root.Length..].TrimEnd('/'));
        }
    }

    /// <summary>The folder on this machine that holds a container path, or null when the image copies nothing there.</summary>
    public string? Local(string containerPath)
    {
        foreach (var (destination, repoFolder) in Copies())
        {
            if (containerPath == destination || containerPath.StartsWith(destination + "/", StringComparison.Ordinal))
                return System.IO.Path.Combine(ClusterTestSupport.RepoRoot, repoFolder) + containerPath[destination.Length..];
        }
        return null;
    }

    /// <summary>The command with its container paths made local, and the working folder: the published folder when the
    /// image's WORKDIR is one it copies, else <paramref name="elsewhere"/> (a folder of the base image, empty).</summary>
    public (string File, string[] Args, string WorkDir) Process(IEnumerable<string> command, string elsewhere)
    {
        var words = command.Select(w => w.StartsWith('/') && Local(w) is { } local ? local : w).ToArray();
        Assert.True(words.Length > 0, $"{Path}: no ENTRYPOINT or CMD");
        return (words[0], words[1..], Local(File.Final.WorkDir) ?? elsewhere);
    }
}
