using SslOrleans.Core.Numerics;

namespace SslOrleans.Core.Tests.Numerics;

public sealed class OneDnnIsaGuardTests
{
    private static readonly CpuIdentity AmdAvx512 = new(CpuIdentity.Amd, "AMD EPYC 9R14", Avx512F: true);
    private static readonly CpuIdentity AmdAvx2 = new(CpuIdentity.Amd, "AMD EPYC 7763", Avx512F: false);
    private static readonly CpuIdentity IntelAvx512 = new(CpuIdentity.Intel, "Intel(R) Xeon(R) Platinum 8480C", Avx512F: true);

    [Fact]
    public void By_default_only_AMD_processors_with_AVX512_are_capped_at_AVX2()
    {
        Assert.Equal("AVX2", OneDnnIsaGuard.Decide(AmdAvx512, null, null).CapIsa);
        Assert.Equal("AVX2", OneDnnIsaGuard.Decide(AmdAvx512, "auto", "").CapIsa);
        Assert.Contains("AMD EPYC 9R14", OneDnnIsaGuard.Decide(AmdAvx512, null, null).Reason);
        Assert.Null(OneDnnIsaGuard.Decide(AmdAvx2, null, null).CapIsa);       // no AVX-512 kernels to avoid
        Assert.Null(OneDnnIsaGuard.Decide(IntelAvx512, null, null).CapIsa);   // no known fault: full speed
    }

    [Fact]
    public void SSLO_ONEDNN_GUARD_forces_or_disables_the_cap_and_a_bad_value_is_named()
    {
        Assert.Equal("AVX2", OneDnnIsaGuard.Decide(IntelAvx512, "on", null).CapIsa);
        Assert.Equal("AVX2", OneDnnIsaGuard.Decide(IntelAvx512, " ON ", null).CapIsa);
        Assert.Null(OneDnnIsaGuard.Decide(AmdAvx512, "off", null).CapIsa);
        var e = Assert.Throws<ArgumentException>(() => OneDnnIsaGuard.Decide(AmdAvx512, "yes", null));
        Assert.Contains("SSLO_ONEDNN_GUARD=yes", e.Message);
        Assert.Contains("auto", e.Message);
    }

    [Fact]
    public void An_ISA_the_user_set_always_wins()
    {
        var d = OneDnnIsaGuard.Decide(AmdAvx512, "on", "AVX512_CORE");
        Assert.Null(d.CapIsa);
        Assert.Contains("ONEDNN_MAX_CPU_ISA=AVX512_CORE", d.Reason);
    }

    [Fact]
    public void Non_x86_processors_are_left_alone()
    {
        Assert.Null(OneDnnIsaGuard.Decide(new CpuIdentity("non-x86", "Arm64", false), "on", null).CapIsa);
    }

    [Fact]
    public void This_process_applied_the_rule_to_its_own_processor()
    {
        // The module initializer ran it before any test touched libtorch, with the rule above for this processor.
        var applied = OneDnnIsaGuard.Decision;
        var userIsa = applied.CapIsa is null ? Environment.GetEnvironmentVariable(OneDnnIsaGuard.IsaVariable) : null;
        Assert.Equal(OneDnnIsaGuard.Decide(CpuIdentity.Current, Environment.GetEnvironmentVariable(OneDnnIsaGuard.ModeVariable), userIsa), applied);
        if (applied.CapIsa is not null) Assert.Equal(applied.CapIsa, Environment.GetEnvironmentVariable(OneDnnIsaGuard.IsaVariable));
    }
}
