using SslOrleans.Core.Losses;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Losses;

public sealed class MaskedTokenLossTests
{
    // Bao et al. 2022, eq. 1: −Σ_{i∈M} log p(z_i | x^M) over masked positions, here averaged over them.
    private static double Naive(float[] logits, long[] codes, bool[] masked, int k)
    {
        double sum = 0;
        int count = 0;
        for (int pos = 0; pos < codes.Length; pos++)
        {
            if (!masked[pos]) continue;
            double max = double.NegativeInfinity;
            for (int c = 0; c < k; c++) max = Math.Max(max, logits[pos * k + c]);
            double z = 0;
            for (int c = 0; c < k; c++) z += Math.Exp(logits[pos * k + c] - max);
            sum += -(logits[pos * k + codes[pos]] - max - Math.Log(z));
            count++;
        }
        return sum / count;
    }

    private static (float[] Logits, long[] Codes, bool[] Masked) Data(int b, int n, int k, int seed)
    {
        var r = new Random(seed);
        var logits = Enumerable.Range(0, b * n * k).Select(_ => (float)(r.NextDouble() * 6 - 3)).ToArray();
        var codes = Enumerable.Range(0, b * n).Select(_ => (long)r.Next(k)).ToArray();
        var masked = Enumerable.Range(0, b * n).Select(_ => r.NextDouble() < 0.4).ToArray();
        masked[0] = true;
        return (logits, codes, masked);
    }

    [Fact]
    public void Is_the_cross_entropy_on_masked_positions_only()
    {
        var (logits, codes, masked) = Data(3, 10, 7, 1);
        using var loss = new MaskedTokenLoss().Forward(tensor(logits, [3, 10, 7]), tensor(codes, [3, 10]), tensor(masked, [3, 10]));
        Assert.Equal(Naive(logits, codes, masked, 7), loss.item<float>(), 5);
    }

    [Fact]
    public void Unmasked_positions_change_nothing()
    {
        var (logits, codes, masked) = Data(2, 12, 5, 2);
        double before = new MaskedTokenLoss().Forward(tensor(logits, [2, 12, 5]), tensor(codes, [2, 12]), tensor(masked, [2, 12])).item<float>();
        var changedLogits = (float[])logits.Clone();
        var changedCodes = (long[])codes.Clone();
        for (int pos = 0; pos < 24; pos++)
        {
            if (masked[pos]) continue;
            for (int c = 0; c < 5; c++) changedLogits[pos * 5 + c] = 100 * c;
            changedCodes[pos] = (codes[pos] + 1) % 5;
        }
        double after = new MaskedTokenLoss().Forward(tensor(changedLogits, [2, 12, 5]), tensor(changedCodes, [2, 12]), tensor(masked, [2, 12])).item<float>();
        Assert.Equal(before, after, 6);
    }

    [Fact]
    public void Uniform_scores_cost_log_k()
    {
        using var loss = new MaskedTokenLoss().Forward(zeros(2, 5, 512), zeros(new long[] { 2, 5 }, dtype: ScalarType.Int64), ones(new long[] { 2, 5 }, dtype: ScalarType.Bool));
        Assert.Equal(Math.Log(512), loss.item<float>(), 4);
    }

    [Fact]
    public void No_masked_position_is_an_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new MaskedTokenLoss().Forward(zeros(1, 4, 3), zeros(new long[] { 1, 4 }, dtype: ScalarType.Int64), zeros(new long[] { 1, 4 }, dtype: ScalarType.Bool)));
        Assert.Contains("no position is masked", e.Message);
    }
}
