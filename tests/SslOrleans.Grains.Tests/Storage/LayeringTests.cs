using System.Reflection;
using SslOrleans.Checkpoints;
using SslOrleans.Storage;

namespace SslOrleans.Grains.Tests.Storage;

/// <summary>A checkpoint consumer's program references SslOrleans.Checkpoints without Orleans; Storage sees neither Orleans nor TorchSharp.</summary>
public sealed class LayeringTests
{
    /// <summary>Every assembly <paramref name="root"/> references, transitively (those the runtime can load).</summary>
    private static HashSet<string> Closure(Assembly root)
    {
        var seen = new HashSet<string>();
        var queue = new Queue<AssemblyName>([root.GetName()]);
        while (queue.TryDequeue(out var name))
        {
            if (!seen.Add(name.Name!)) continue;
            Assembly assembly;
            try { assembly = Assembly.Load(name); }
            catch (FileNotFoundException) { continue; }
            foreach (var reference in assembly.GetReferencedAssemblies()) queue.Enqueue(reference);
        }
        return seen;
    }

    private static bool IsOrleans(string name) => name.StartsWith("Orleans", StringComparison.Ordinal) || name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal);

    [Fact]
    public void The_consumer_API_references_no_Orleans_assembly()
    {
        var closure = Closure(typeof(CheckpointSource).Assembly);
        Assert.Contains("SslOrleans.Storage", closure);
        Assert.Contains("TorchSharp", closure);
        Assert.Contains("Azure.Storage.Blobs", closure);
        Assert.DoesNotContain(closure, IsOrleans);
        Assert.DoesNotContain("SslOrleans.Abstractions", closure);
    }

    [Fact]
    public void Storage_references_neither_Orleans_nor_TorchSharp()
    {
        var closure = Closure(typeof(StorageLocation).Assembly);
        Assert.DoesNotContain(closure, IsOrleans);
        Assert.DoesNotContain("TorchSharp", closure);
    }
}
