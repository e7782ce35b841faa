using SslOrleans.Grains.Compute;

namespace SslOrleans.Grains.Tests.Compute;

public sealed class GradientWireTests
{
    [Theory]
    [InlineData(1.0f, (ushort)0x3F80)]
    [InlineData(-2.0f, (ushort)0xC000)]
    [InlineData(1.00390625f, (ushort)0x3F80)]  // 1 + 2^-8: a tie, rounds to the even 1.0
    [InlineData(1.01171875f, (ushort)0x3F82)]  // 1 + 3·2^-8: a tie, rounds to the even 1 + 2^-6
    [InlineData(1.0048828f, (ushort)0x3F81)]   // just above the tie: rounds up
    [InlineData(float.PositiveInfinity, (ushort)0x7F80)]
    public void BFloat16_is_the_upper_half_rounded_to_nearest_even(float value, ushort expected)
    {
        Assert.Equal(expected, GradientWire.ToBFloat16(value));
        Assert.Equal(value, GradientWire.FromBFloat16(GradientWire.ToBFloat16(value)), 2e-2f * Math.Abs(value));
    }

    [Fact]
    public void NaN_stays_NaN()
    {
        Assert.True(float.IsNaN(GradientWire.FromBFloat16(GradientWire.ToBFloat16(float.NaN))));
    }

    [Theory]
    [InlineData("float64", 0.0)]
    [InlineData("float32", 1e-7)]
    [InlineData("bfloat16", 8e-3)]
    public void Chunks_decode_to_the_payload_within_the_dtype_precision_and_stay_below_the_chunk_size(string dtype, double tolerance)
    {
        var random = new Random(3);
        var a = Enumerable.Range(0, 1000).Select(_ => random.NextDouble() * 2 - 1).ToArray();
        var b = Enumerable.Range(0, 333).Select(_ => random.NextDouble() * 100).ToArray();
        Region<double>[] regions = [new(a, 100, 700), new(b, 0, 333)];
        var chunks = GradientWire.Chunks(regions, 1000, dtype);
        Assert.All(chunks, c => Assert.InRange(c.Data.Length, 1, 1000));
        Assert.True(chunks.Count > 1);
        var sums = new double[1033];
        foreach (var c in chunks) GradientWire.AddTo(sums.AsSpan((int)c.Offset, c.Data.Length / GradientWire.ElementBytes(dtype)), c.Data, dtype);
        var expected = a.Skip(100).Take(700).Concat(b).ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(sums[i] - expected[i]) <= tolerance * Math.Abs(expected[i]) + 1e-300, $"element {i}: {sums[i]} vs {expected[i]}");
        Assert.Equal(expected.Length * GradientWire.ElementBytes(dtype), chunks.Sum(c => c.Data.Length));
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("bfloat16")]
    public void The_SIMD_encoding_and_decoding_equal_one_element_at_a_time_to_the_bit(string dtype)
    {
        var random = new Random(9);
        var values = Enumerable.Range(0, 1037).Select(i => i switch
        {
            0 => double.NaN, 1 => double.PositiveInfinity, 2 => -0.0, 3 => 1.00390625, 4 => 1.01171875, 5 => 3.4e38 * 2,
            _ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30)),
        }).ToArray();
        var bytes = GradientWire.Encode(values, dtype);
        var sums = Enumerable.Range(0, values.Length).Select(i => i * 0.25).ToArray();
        GradientWire.AddTo(sums, bytes, dtype);
        for (int i = 0; i < values.Length; i++)
        {
            float f = (float)values[i];
            double decoded = dtype == "float32" ? f : GradientWire.FromBFloat16(GradientWire.ToBFloat16(f));
            ushort expectedBits = dtype == "float32" ? (ushort)0 : GradientWire.ToBFloat16(f);
            if (dtype == "bfloat16") Assert.Equal(expectedBits, BitConverter.ToUInt16(bytes, 2 * i));
            else Assert.Equal(BitConverter.SingleToUInt32Bits(f), BitConverter.ToUInt32(bytes, 4 * i));
            Assert.Equal(BitConverter.DoubleToInt64Bits(i * 0.25 + decoded), BitConverter.DoubleToInt64Bits(sums[i]));
        }
    }

    [Fact]
    public void An_unknown_dtype_is_named()
    {
        var e = Assert.Throws<ArgumentException>(() => GradientWire.ElementBytes("float16"));
        Assert.Contains("gradient_dtype 'float16'", e.Message);
    }

    [Theory]
    [InlineData("float64", double.NaN, true)]
    [InlineData("float64", double.PositiveInfinity, true)]
    [InlineData("float64", 1e300, false)]
    [InlineData("float32", 1e300, true)]              // finite in float64, infinite once rounded to float32
    [InlineData("float32", -3.4028234663852886e38, false)] // float.MaxValue itself
    [InlineData("bfloat16", 3.39e38, true)]           // rounds up to bfloat16's infinity
    [InlineData("bfloat16", 3.3e38, false)]
    public void FirstUnsendable_finds_the_value_the_wire_would_not_carry_finite_in_any_lane(string dtype, double bad, bool unsendable)
    {
        // Every position of a vector and the scalar tail: the SIMD loop and the scalar one must agree.
        for (int at = 0; at < 37; at++)
        {
            var values = Enumerable.Range(0, 37).Select(i => Math.Sin(i) * 1e3).ToArray();
            values[at] = bad;
            Assert.Equal(unsendable ? at : null, GradientWire.FirstUnsendable(values, dtype));
        }
        Assert.Null(GradientWire.FirstUnsendable([], dtype));
    }
}
