using System.Text.Json;
using System.Text.RegularExpressions;

namespace SslOrleans.Grains.Tests.Deploy;

/// <summary>
/// The instructions of a Dockerfile that decide how its image starts, read as a container engine reads them: stages,
/// and per stage WORKDIR (relative ones join the previous), ENV (both forms), COPY, RUN, ENTRYPOINT, CMD and HEALTHCHECK
/// (exec form, a JSON array, is what this project uses; the shell form is refused so that a test never guesses).
/// </summary>
internal sealed partial class Dockerfile
{
    public sealed record Copy(string? From, string Source, string Destination);

    public sealed class Stage
    {
        public required string Image { get; init; }
        public string? Name { get; init; }
        public string WorkDir { get; set; } = "/";
        public Dictionary<string, string> Env { get; } = new(StringComparer.Ordinal);
        public List<Copy> Copies { get; } = [];
        public List<string> Runs { get; } = [];
        public string[]? Entrypoint { get; set; }
        public string[]? Cmd { get; set; }
        public string[]? HealthCheck { get; set; }
        public string? User { get; set; }
    }

    public List<Stage> Stages { get; } = [];

    public Stage Final => Stages[^1];

    public Stage Named(string name) => Stages.Single(s => s.Name == name);

    /// <summary>What the container runs: ENTRYPOINT followed by CMD.</summary>
    public string[] Command => [.. Final.Entrypoint ?? [], .. Final.Cmd ?? []];

    public static Dockerfile Read(string path)
    {
        var file = new Dockerfile();
        foreach (var line in LogicalLines(File.ReadAllLines(path)))
        {
            var space = line.IndexOf(' ');
            var instruction = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var rest = space < 0 ? "" : line[(space + 1)..].Trim();
            if (instruction == "FROM")
            {
                var m = FromLine().Match(rest);
                if (!m.Success) throw new InvalidDataException($"{path}: FROM {rest}");
                file.Stages.Add(new Stage { Image = m.Groups["image"].Value, Name = m.Groups["name"].Success ? m.Groups["name"].Value : null });
                continue;
            }
            if (file.Stages.Count == 0)
            {
                if (instruction is "ARG") continue;
                throw new InvalidDataException($"{path}: {instruction} before FROM");
            }
            var stage = file.Final;
            switch (instruction)
            {
                case "WORKDIR":
                    stage.WorkDir = rest.StartsWith('/') ? rest : $"{stage.WorkDir.TrimEnd('/')}/{rest}";
                    break;
                case "ENV":
                    foreach (var (k, v) in EnvPairs(rest)) stage.Env[k] = v;
                    break;
                case "COPY":
                    var words = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    var from = words.FirstOrDefault(w => w.StartsWith("--from=", StringComparison.Ordinal))?["--from=".Length..];
                    var paths = words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
                    if (paths.Length != 2) throw new InvalidDataException($"{path}: COPY {rest}: this reader takes one source and one destination");
                    stage.Copies.Add(new Copy(from, paths[0], paths[1]));
                    break;
                case "RUN": stage.Runs.Add(rest); break;
                case "USER": stage.User = rest; break;
                case "ENTRYPOINT": stage.Entrypoint = ExecForm(path, instruction, rest); break;
                case "CMD": stage.Cmd = ExecForm(path, instruction, rest); break;
                case "HEALTHCHECK":
                    var cmd = rest.IndexOf("CMD ", StringComparison.Ordinal);
                    stage.HealthCheck = cmd < 0 ? null : ExecForm(path, instruction, rest[(cmd + 4)..].Trim());
                    break;
            }
        }
        return file;
    }

    private static string[] ExecForm(string path, string instruction, string text) =>
        text.StartsWith('[') ? JsonSerializer.Deserialize<string[]>(text)!
            : throw new InvalidDataException($"{path}: {instruction} {text}: use the exec form, a JSON array");

    /// <summary>ENV a=b c="d e" or the old form ENV a b.</summary>
    private static IEnumerable<(string, string)> EnvPairs(string text)
    {
        if (!text.Contains('=') || text.IndexOf(' ') is var sp && sp > 0 && sp < text.IndexOf('='))
        {
            var space = text.IndexOf(' ');
            yield return (text[..space], text[(space + 1)..].Trim());
            yield break;
        }
        foreach (Match m in EnvPair().Matches(text))
            yield return (m.Groups["k"].Value, m.Groups["q"].Success ? m.Groups["q"].Value : m.Groups["v"].Value);
    }

    /// <summary>Comments dropped, backslash continuations joined.</summary>
    private static IEnumerable<string> LogicalLines(string[] lines)
    {
        var current = "";
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0)) continue;
            if (line.EndsWith('\\')) { current += line[..^1] + " "; continue; }
            current += line;
            if (current.Trim().Length > 0) yield return current.Trim();
            current = "";
        }
        if (current.Trim().Length > 0) yield return current.Trim();
    }

    [GeneratedRegex(@"^(--platform=\S+\s+)?(?<image>\S+)(\s+AS\s+(?<name>\S+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"(?<k>[A-Za-z_][A-Za-z0-9_]*)=(""(?<q>[^""]*)""|(?<v>\S*))")]
    private static partial Regex EnvPair();
}
