namespace SslOrleans.Core.Training;

public enum OptimizerKind { Lars, Sgd, AdamW }

/// <summary>
/// Optimizer hyper-parameters. LARS as in solo-learn (η, clipping, bias/norm excluded from decay and
/// adaptation); SGD with momentum, optionally Nesterov; AdamW with decoupled weight decay (Loshchilov &amp;
/// Hutter), bias and norm parameters undecayed.
/// </summary>
public sealed record OptimizerSettings(
    OptimizerKind Kind = OptimizerKind.Lars,
    double Momentum = 0.9,
    double WeightDecay = 1e-5,
    double Eta = 0.02,
    bool ClipLr = true,
    double Eps = 1e-8,
    bool Nesterov = false,
    double Beta1 = 0.9,
    double Beta2 = 0.999)
{
    /// <summary>Whether the optimizer keeps a second moment (one more float per parameter).</summary>
    public bool NeedsSecondMoment => Kind == OptimizerKind.AdamW;

    public static OptimizerKind ParseKind(string name) => name.ToLowerInvariant() switch
    {
        "lars" => OptimizerKind.Lars,
        "sgd" => OptimizerKind.Sgd,
        "adamw" => OptimizerKind.AdamW,
        _ => throw new ArgumentException($"optimizer '{name}' is unknown; known: lars, sgd, adamw", nameof(name)),
    };

    public void Validate()
    {
        if (Momentum is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "momentum must lie in [0, 1)");
        if (WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "weight decay must be ≥ 0");
        if (Eta <= 0) throw new ArgumentOutOfRangeException(nameof(Eta), Eta, "LARS η must be > 0");
        if (Beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "β₁ must lie in [0, 1)");
        if (Beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "β₂ must lie in [0, 1)");
    }
}

/// <summary>A tensor inside a flat slice (offset relative to the slice).</summary>
public readonly record struct SliceTensor(long Offset, long Length, bool Excluded);
