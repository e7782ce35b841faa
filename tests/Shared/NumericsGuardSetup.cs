using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace SslOrleans.Tests;

internal static class NumericsGuardSetup
{
    // Linked into every test project. oneDNN fixes its ISA at its first convolution: a test that calls TorchSharp
    // before touching any Core type must not get there ahead of the guard (docs/architecture.md, "Numerics on every
    // processor").
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "must run before any test computes")]
    internal static void Apply() => SslOrleans.Core.Numerics.OneDnnIsaGuard.Apply();
}
