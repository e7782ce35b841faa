using SslOrleans.Core.Masking;

namespace SslOrleans.Core.Tests.Masking;

public sealed class MaskingTests
{
    [Theory]
    [InlineData(49, 0.75, 37)]
    [InlineData(64, 0.75, 48)]
    [InlineData(49, 0.4, 20)]
    [InlineData(16, 0.1, 2)]
    public void Random_masking_masks_exactly_the_requested_share_of_every_image(int patches, double ratio, int expected)
    {
        var mask = RandomMasking.Sample(32, patches, ratio, seed: 7);
        Assert.Equal(expected, mask.MaskedPerSample);
        for (int i = 0; i < 32; i++) Assert.Equal(expected, Enumerable.Range(0, patches).Count(p => mask.IsMasked(i, p)));
    }

    [Fact]
    public void Random_masks_depend_only_on_the_seed_and_differ_between_images_and_seeds()
    {
        var a = RandomMasking.Sample(8, 49, 0.75, seed: 3);
        var b = RandomMasking.Sample(8, 49, 0.75, seed: 3);
        var c = RandomMasking.Sample(8, 49, 0.75, seed: 4);
        Assert.Equal(a.Masked, b.Masked);
        Assert.NotEqual(a.Masked, c.Masked);
        Assert.NotEqual(a.Masked[..49], a.Masked[49..98]);
    }

    [Fact]
    public void Random_masking_is_uniform_over_positions()
    {
        // 4000 images × 37 of 49: each position is masked with probability 37/49 ≈ 0.755 (σ ≈ 0.007 per position).
        var mask = RandomMasking.Sample(4000, 49, 0.75, seed: 1);
        for (int p = 0; p < 49; p++)
        {
            double share = Enumerable.Range(0, 4000).Count(i => mask.IsMasked(i, p)) / 4000.0;
            Assert.InRange(share, 37 / 49.0 - 0.04, 37 / 49.0 + 0.04);
        }
    }

    [Theory]
    [InlineData(7, 0.4)]
    [InlineData(8, 0.4)]
    [InlineData(14, 75 / 196.0)]
    public void Block_masking_masks_exactly_the_requested_share_in_blocks(int side, double ratio)
    {
        int patches = side * side;
        var mask = BlockMasking.Sample(64, side, ratio, seed: 5);
        Assert.Equal(RandomMasking.MaskedCount(patches, ratio), mask.MaskedPerSample);
        // Blocks, not scattered patches: most masked patches have a masked 4-neighbour (random masking at 40 %
        // gives about 1 − 0.6⁴ ≈ 0.87 by chance at best; blocks of ≥ 2 rows and columns give far more).
        int withNeighbour = 0, masked = 0;
        for (int i = 0; i < 64; i++)
            for (int r = 0; r < side; r++)
                for (int c = 0; c < side; c++)
                {
                    if (!mask.IsMasked(i, r * side + c)) continue;
                    masked++;
                    bool n = (r > 0 && mask.IsMasked(i, (r - 1) * side + c)) || (r < side - 1 && mask.IsMasked(i, (r + 1) * side + c))
                          || (c > 0 && mask.IsMasked(i, r * side + c - 1)) || (c < side - 1 && mask.IsMasked(i, r * side + c + 1));
                    if (n) withNeighbour++;
                }
        Assert.True(withNeighbour > 0.95 * masked, $"{withNeighbour} of {masked} masked patches touch another");
        Assert.Equal(BlockMasking.Sample(64, side, ratio, seed: 5).Masked, mask.Masked);
    }

    [Fact]
    public void Indices_list_visible_and_masked_patches_in_ascending_order()
    {
        var mask = RandomMasking.Sample(3, 16, 0.5, seed: 9);
        var visible = mask.VisibleIndices().data<long>().ToArray();
        var hidden = mask.MaskedIndices().data<long>().ToArray();
        for (int i = 0; i < 3; i++)
        {
            var v = visible[(i * 8)..(i * 8 + 8)];
            var h = hidden[(i * 8)..(i * 8 + 8)];
            Assert.Equal(v.Order(), v);
            Assert.All(v, p => Assert.False(mask.IsMasked(i, (int)p)));
            Assert.All(h, p => Assert.True(mask.IsMasked(i, (int)p)));
            Assert.Equal(Enumerable.Range(0, 16).Select(x => (long)x), v.Concat(h).Order());
        }
    }

    [Fact]
    public void Bad_ratios_are_named()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomMasking.Sample(1, 49, 1.0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => BlockMasking.Sample(1, 7, 0, 0));
        var e = Assert.Throws<ArgumentException>(() => new PatchMask(2, 2, [true, false, true, true]));
        Assert.Contains("image 1", e.Message);
    }
}
