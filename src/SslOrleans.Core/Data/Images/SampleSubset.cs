namespace SslOrleans.Core.Data.Images;

/// <summary>
/// Some samples of another reader, in the given order: a dataset without its bad samples (see
/// <see cref="DatasetCheck"/>). Disposing it disposes the inner reader unless <c>leaveOpen</c>.
/// </summary>
public sealed class SampleSubset : ISampleReader
{
    private readonly ISampleReader _inner;
    private readonly int[] _indices;
    private readonly bool _leaveOpen;

    public SampleSubset(ISampleReader inner, IEnumerable<int> indices, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(indices);
        _inner = inner;
        _indices = [.. indices];
        _leaveOpen = leaveOpen;
        foreach (var index in _indices)
        {
            if ((uint)index >= (uint)inner.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"{inner.Name}: subset index {index} is outside [0, {inner.Count})");
            }
        }

        Name = $"{inner.Name} ({_indices.Length} of {inner.Count} samples)";
    }

    /// <summary><paramref name="inner"/> without the samples <paramref name="excluded"/> lists.</summary>
    public static SampleSubset Without(ISampleReader inner, IEnumerable<int> excluded, bool leaveOpen = false)
    {
        var skip = excluded.ToHashSet();
        return new SampleSubset(inner, Enumerable.Range(0, inner.Count).Where(i => !skip.Contains(i)), leaveOpen);
    }

    public string Name { get; }

    public int Count => _indices.Length;

    public int Classes => _inner.Classes;

    public IReadOnlyList<string> ClassNames => _inner.ClassNames;

    /// <summary>The inner reader's index of sample <paramref name="index"/>.</summary>
    public int InnerIndex(int index) => _indices[index];

    public int Label(int index) => _inner.Label(_indices[index]);

    public string Describe(int index) => _inner.Describe(_indices[index]);

    public void Read(int index, int channels, int size, Span<byte> destination) =>
        _inner.Read(_indices[index], channels, size, destination);

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _inner.Dispose();
        }
    }
}
