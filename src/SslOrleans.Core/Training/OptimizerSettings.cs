namespace SslOrleans.Core.Training;

public enum OptimizerKind { Lars, Sgd }

/// <summary>Optimizer hyper-parameters; LARS as in solo-learn (η, clipping, bias/norm excluded from decay and adaptation).</summary>
public sealed record OptimizerSettings(
    OptimizerKind Kind = OptimizerKind.Lars,
    double Momentum = 0.9,
    double WeightDecay = 1e-5,
    double Eta = 0.02,
    bool ClipLr = true,
    double Eps = 1e-8)
{
    public void Validate()
    {
        if (Momentum is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "momentum must lie in [0, 1)");
        if (WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "weight decay must be ≥ 0");
        if (Eta <= 0) throw new ArgumentOutOfRangeException(nameof(Eta), Eta, "LARS η must be > 0");
    }
}

/// <summary>A tensor inside a flat slice (offset relative to the slice).</summary>
public readonly record struct SliceTensor(long Offset, long Length, bool Excluded);
