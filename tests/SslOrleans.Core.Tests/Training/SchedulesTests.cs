using SslOrleans.Core.Training;

namespace SslOrleans.Core.Tests.Training;

public sealed class SchedulesTests
{
    [Theory]
    [InlineData(0, 100, 0.99)]
    [InlineData(50, 100, 0.995)]
    [InlineData(100, 100, 1.0)]
    [InlineData(25, 100, 0.99146446609)] // 1 − 0.01·(cos(π/4) + 1)/2
    public void Byol_tau_follows_the_cosine_from_tau0_to_one(long step, long total, double expected) =>
        Assert.Equal(expected, Schedules.ByolTau(step, total, 0.99), 9);

    [Fact]
    public void Warmup_is_linear_then_cosine_decays_to_the_minimum()
    {
        Assert.Equal(0.25, Schedules.WarmupCosine(0, 100, 4, 1.0), 12);
        Assert.Equal(1.0, Schedules.WarmupCosine(3, 100, 4, 1.0), 12);
        Assert.Equal(1.0, Schedules.WarmupCosine(4, 100, 4, 1.0), 12);
        Assert.Equal(0.5, Schedules.WarmupCosine(52, 100, 4, 1.0), 12);
        Assert.Equal(0.0, Schedules.WarmupCosine(100, 100, 4, 1.0), 12);
        Assert.Equal(0.1, Schedules.WarmupCosine(100, 100, 0, 1.0, 0.1), 12);
    }
}
