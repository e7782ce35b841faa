namespace SslOrleans.Core.Numerics;

/// <summary>What <see cref="OneDnnIsaGuard"/> decided for this process: the ISA oneDNN is capped at (null: not
/// capped by us) and why, in words fit for a log line.</summary>
public sealed record OneDnnIsaDecision(string? CapIsa, string Reason)
{
    public override string ToString() => CapIsa is null ? $"oneDNN ISA not capped ({Reason})" : $"oneDNN ISA capped at {CapIsa} ({Reason})";
}
