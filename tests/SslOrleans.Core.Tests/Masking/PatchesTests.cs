using SslOrleans.Core.Masking;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Masking;

public sealed class PatchesTests
{
    [Theory]
    [InlineData(1, 28, 4)]
    [InlineData(3, 32, 4)]
    [InlineData(2, 28, 7)]
    public void Patchify_then_unpatchify_gives_the_images_back(int channels, int size, int patch)
    {
        using var images = rand(3, channels, size, size);
        using var patches = Patches.Patchify(images, patch);
        Assert.Equal(new long[] { 3, (size / patch) * (size / patch), patch * patch * channels }, patches.shape);
        using var back = Patches.Unpatchify(patches, patch, channels);
        Assert.Equal(images.data<float>().ToArray(), back.data<float>().ToArray());
    }

    [Fact]
    public void Patches_are_row_major_and_hold_row_column_channel_values()
    {
        // MAE's layout: patch r·(W/p) + c; inside it, value (i, j, ch) at (i·p + j)·C + ch.
        const int c = 2, size = 8, p = 4;
        using var images = arange(c * size * size, dtype: ScalarType.Float32).reshape(1, c, size, size);
        using var patches = Patches.Patchify(images, p);
        var img = images.data<float>().ToArray();
        var got = patches.data<float>().ToArray();
        int side = size / p;
        for (int r = 0; r < side; r++)
            for (int col = 0; col < side; col++)
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < p; j++)
                        for (int ch = 0; ch < c; ch++)
                        {
                            float expected = img[(ch * size + r * p + i) * size + col * p + j];
                            Assert.Equal(expected, got[(r * side + col) * p * p * c + (i * p + j) * c + ch]);
                        }
    }

    [Fact]
    public void A_patch_size_that_does_not_divide_the_image_is_named()
    {
        using var images = rand(1, 1, 28, 28);
        var e = Assert.Throws<ArgumentException>(() => Patches.Patchify(images, 5));
        Assert.Contains("patch size 5", e.Message);
    }
}
