using SslOrleans.Core.Training;

namespace SslOrleans.Core.Tests.Training;

public sealed class NonFiniteTests
{
    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Finds_the_first_bad_value_in_the_vector_part_and_in_the_tail(float bad)
    {
        // Lengths around the vector width, the bad value in a full lane and in the scalar tail.
        foreach (int length in new[] { 1, 7, 8, 15, 16, 17, 33, 1000 })
            foreach (int at in new[] { 0, length / 2, length - 1 })
            {
                var values = Enumerable.Range(0, length).Select(i => (float)(i * 1e30)).ToArray(); // large but finite
                values[at] = bad;
                if (at + 1 < length) values[^1] = bad;
                Assert.Equal(at, NonFinite.First(values));
            }
    }

    [Fact]
    public void Finite_values_extremes_included_pass()
    {
        var values = new[] { float.MaxValue, float.MinValue, float.Epsilon, -0f, 0f, 1e-45f, 3e38f, -3e38f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f };
        Assert.Null(NonFinite.First(values));
        Assert.Null(NonFinite.First([]));
    }
}
