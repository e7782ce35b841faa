namespace SslOrleans.Tests;

/// <summary>
/// Test categories that build/test.sh runs in the first kernel family's pass only (`.ci/run` runs the suite once per
/// family: native, then avx2).
/// </summary>
internal static class TestCategories
{
    /// <summary>Tests of storage, processes, packaging and wiring, whose outcome no kernel family changes (blob
    /// stores, silo processes and scripts, config files, the data path's files): a second pass would only repeat them.</summary>
    public const string Plumbing = "Plumbing";
}
