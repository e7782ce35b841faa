using static TorchSharp.torch;

namespace SslOrleans.Core.Losses;

internal static class LossShapes
{
    public static void RequirePairs(Tensor a, Tensor b)
    {
        if (a.ndim != 2 || !a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"embeddings {Shape(a)} and {Shape(b)} must both be [batch, dim]");
    }

    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
