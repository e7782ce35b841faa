using SslOrleans.Core.Methods.RotNet;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Methods;

public sealed class RotationsTests
{
    [Fact]
    public void Gives_all_four_rotations_labelled_in_rotation_major_order()
    {
        var images = arange(2 * 9, dtype: ScalarType.Float32).reshape(2, 1, 3, 3);
        var (rotated, labels) = Rotations.All(images);
        Assert.Equal([8L, 1, 3, 3], rotated.shape);
        Assert.Equal([0L, 0, 1, 1, 2, 2, 3, 3], labels.data<long>().ToArray());
        Assert.True(rotated[0].eq(images[0]).all().item<bool>());
        // 90° counter-clockwise: the right column, read top-down, becomes the top row.
        Assert.Equal([2f, 5, 8], rotated[2, 0, 0].data<float>().ToArray());
        // 180° twice is the identity; rotation k and 4 − k are inverses.
        Assert.True(rotated[4].rot90(2, (1, 2)).eq(images[0]).all().item<bool>());
        Assert.True(rotated[6].rot90(1, (1, 2)).eq(images[0]).all().item<bool>());
    }

    [Fact]
    public void Rejects_images_that_are_not_square()
    {
        Assert.Throws<ArgumentException>(() => Rotations.All(zeros(2, 1, 3, 4)));
    }
}
