using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SslOrleans.Core.Numerics;

/// <summary>
/// Keeps libtorch's oneDNN off kernels that compute wrong results on some processors. On AMD EPYC processors with
/// AVX-512, TorchSharp 0.107's (libtorch 2.10) oneDNN AVX-512 convolutions with few channels (3×3, stride 1, 1–8
/// channels) gave NaN or values off by ~1e-3, differently from run to run; capped at AVX2 they are right
/// (docs/architecture.md, "Numerics on every processor"). oneDNN reads <c>ONEDNN_MAX_CPU_ISA</c> from the native
/// environment once, at its first dispatch, so the cap must be set there (with libc's setenv: .NET's
/// <c>Environment.SetEnvironmentVariable</c> changes only the managed copy on Linux) before the first convolution.
/// <para>
/// <c>SSLO_ONEDNN_GUARD</c> chooses: <c>auto</c> (default) caps AMD processors with AVX-512 and leaves the others at
/// full speed; <c>on</c> caps any x86 processor; <c>off</c> never caps. An <c>ONEDNN_MAX_CPU_ISA</c> already in the
/// environment is the user's choice and always wins. The numerics self-check (<see cref="NumericsSelfCheck"/>) guards
/// whatever this leaves uncapped.
/// </para>
/// </summary>
public static class OneDnnIsaGuard
{
    public const string IsaVariable = "ONEDNN_MAX_CPU_ISA";
    public const string ModeVariable = "SSLO_ONEDNN_GUARD";
    public const string SafeIsa = "AVX2";

    private static readonly Lock gate = new();
    private static OneDnnIsaDecision? decision;

    /// <summary>The decision in force, once <see cref="Apply"/> ran (it runs when this assembly loads).</summary>
    public static OneDnnIsaDecision Decision => Apply();

    /// <summary>
    /// Decides and, where needed, caps oneDNN's ISA in the native environment; idempotent. Call it before the
    /// process's first convolution: the CLI and every silo host do, and this assembly's module initializer does too.
    /// </summary>
    /// <exception cref="ArgumentException">SSLO_ONEDNN_GUARD holds something other than auto, on or off.</exception>
    public static OneDnnIsaDecision Apply()
    {
        lock (gate)
        {
            if (decision is not null) return decision;
            var chosen = Decide(CpuIdentity.Current, Environment.GetEnvironmentVariable(ModeVariable), Environment.GetEnvironmentVariable(IsaVariable));
            if (chosen.CapIsa is not null)
            {
                if (setenv(IsaVariable, chosen.CapIsa, 1) != 0)
                    throw new InvalidOperationException($"could not set {IsaVariable}={chosen.CapIsa} in the native environment (errno {Marshal.GetLastPInvokeError()})");
                // Child processes (silos started by the CLI) are started from the managed copy: keep it in step.
                Environment.SetEnvironmentVariable(IsaVariable, chosen.CapIsa);
            }
            return decision = chosen;
        }
    }

    /// <summary>The pure rule: which ISA to cap oneDNN at, given the processor, SSLO_ONEDNN_GUARD and ONEDNN_MAX_CPU_ISA.</summary>
    public static OneDnnIsaDecision Decide(CpuIdentity cpu, string? mode, string? userIsa)
    {
        ArgumentNullException.ThrowIfNull(cpu);
        mode = string.IsNullOrWhiteSpace(mode) ? "auto" : mode.Trim().ToLowerInvariant();
        if (mode is not ("auto" or "on" or "off"))
            throw new ArgumentException($"{ModeVariable}={mode}: expected auto (cap oneDNN at {SafeIsa} on AMD processors with AVX-512), on (cap on any processor) or off");
        if (!string.IsNullOrWhiteSpace(userIsa)) return new(null, $"{IsaVariable}={userIsa} set in the environment");
        if (cpu.Vendor == "non-x86") return new(null, $"{cpu.Brand}: not an x86 processor");
        return mode switch
        {
            "off" => new(null, $"{ModeVariable}=off"),
            "on" => new(SafeIsa, $"{ModeVariable}=on"),
            _ when cpu.IsAmd && cpu.Avx512F => new(SafeIsa, $"{cpu}: oneDNN's AVX-512 convolutions with few channels compute wrong results on AMD processors"),
            _ => new(null, $"{cpu}: no known fault"),
        };
    }

    // Runs before any code of this assembly: every process that computes through Core gets the guard before its
    // first tensor operation, even one that never calls Apply. A bad SSLO_ONEDNN_GUARD is left for Apply's callers
    // (the CLI, the silo) to report; an exception here would surface as an unreadable TypeInitializationException.
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "oneDNN reads its ISA cap once, at its first dispatch: the cap must be in place before any code of this library runs.")]
    internal static void ApplyOnLoad()
    {
        try { Apply(); }
        catch (ArgumentException) { }
    }

    // Strings travel as UTF-8 on Unix; this runs once per process, so the marshalling cost is nothing.
    [DllImport("libc", SetLastError = true)]
    private static extern int setenv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
