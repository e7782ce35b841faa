using TorchSharp;
using static TorchSharp.torch;

namespace SslOrleans.Core.Training;

/// <summary>One tensor's place in a flat vector.</summary>
/// <param name="Excluded">Bias and normalisation parameters (1-D): no weight decay, no LARS adaptation.</param>
/// <param name="HasTarget">The method keeps an EMA target of this parameter.</param>
/// <param name="Probe">A parameter of the online linear probe: trained by its own optimizer.</param>
public sealed record TensorSlot(string Name, long[] Shape, long Offset, long Length, bool Excluded, bool HasTarget, bool Probe = false);

/// <summary>
/// The flat layout of a method's state: trainable parameters in registration order (the EMA target covers a
/// prefix of them), then the online probe's parameters, and floating-point buffers (batch-norm running statistics). Shards own contiguous runs of
/// whole tensors, so per-tensor rules such as LARS never straddle a shard.
/// </summary>
public sealed class ModelLayout
{
    public IReadOnlyList<TensorSlot> Parameters { get; }
    public IReadOnlyList<TensorSlot> Buffers { get; }
    public long ParameterCount { get; }
    public long BufferCount { get; }
    /// <summary>Length of the parameter prefix that has an EMA target.</summary>
    public long TargetCount { get; }

    private ModelLayout(List<TensorSlot> parameters, List<TensorSlot> buffers)
    {
        Parameters = parameters;
        Buffers = buffers;
        ParameterCount = parameters.Sum(s => s.Length);
        BufferCount = buffers.Sum(s => s.Length);
        TargetCount = parameters.Where(s => s.HasTarget).Sum(s => s.Length);
    }

    public const string ProbePrefix = "probe.";

    public static ModelLayout Of(nn.Module online, nn.Module? target, nn.Module? probe = null)
    {
        var targetNames = target?.named_parameters().Select(p => p.name).ToList() ?? [];
        var onlineParams = online.named_parameters().ToList();
        for (int i = 0; i < targetNames.Count; i++)
        {
            if (i >= onlineParams.Count || onlineParams[i].name != targetNames[i])
                throw new InvalidOperationException($"target parameter '{targetNames[i]}' is not at position {i} of the online parameters");
        }
        var parameters = new List<TensorSlot>();
        long offset = 0;
        for (int i = 0; i < onlineParams.Count; i++)
        {
            var (name, p) = onlineParams[i];
            parameters.Add(new TensorSlot(name, p.shape, offset, p.numel(), p.ndim <= 1, i < targetNames.Count));
            offset += p.numel();
        }
        foreach (var (name, p) in probe?.named_parameters() ?? [])
        {
            parameters.Add(new TensorSlot(ProbePrefix + name, p.shape, offset, p.numel(), p.ndim <= 1, false, Probe: true));
            offset += p.numel();
        }
        var buffers = new List<TensorSlot>();
        offset = 0;
        foreach (var (name, b) in FloatBuffers(online))
        {
            buffers.Add(new TensorSlot(name, b.shape, offset, b.numel(), true, false));
            offset += b.numel();
        }
        foreach (var (name, b) in probe is null ? [] : FloatBuffers(probe))
        {
            buffers.Add(new TensorSlot(ProbePrefix + name, b.shape, offset, b.numel(), true, false, Probe: true));
            offset += b.numel();
        }
        return new ModelLayout(parameters, buffers);
    }

    /// <summary>Float buffers only: num_batches_tracked (int64) does not influence BN with a fixed momentum.</summary>
    internal static IEnumerable<(string Name, Tensor Tensor)> FloatBuffers(nn.Module module) =>
        module.named_buffers().Where(b => b.Item2.dtype == ScalarType.Float32);

    /// <summary>
    /// Cuts the slots into <paramref name="shards"/> contiguous runs of whole tensors with balanced sizes:
    /// a tensor goes to the shard in whose share of the total its midpoint lies. Returns for each shard the
    /// index of its first slot and one past its last; every shard gets at least one tensor.
    /// </summary>
    public static IReadOnlyList<(int First, int End)> Partition(IReadOnlyList<long> lengths, int shards)
    {
        if (shards < 1 || shards > lengths.Count)
            throw new ArgumentOutOfRangeException(nameof(shards), shards, $"shards must lie in [1, {lengths.Count}] (the number of tensors)");
        double total = lengths.Sum();
        var result = new List<(int, int)>(shards);
        int first = 0;
        double acc = 0;
        for (int k = 0; k < shards; k++)
        {
            int end = first + 1; // at least one tensor each
            acc += lengths[first];
            int mustLeave = shards - 1 - k;
            double goal = total * (k + 1) / shards;
            while (end < lengths.Count - mustLeave && (k == shards - 1 || acc + lengths[end] / 2.0 <= goal))
            {
                acc += lengths[end];
                end++;
            }
            result.Add((first, end));
            first = end;
        }
        return result;
    }
}
