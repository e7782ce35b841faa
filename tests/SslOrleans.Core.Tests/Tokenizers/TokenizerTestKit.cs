using SslOrleans.Core.Data;
using SslOrleans.Core.Tokenizers;
using SslOrleans.Core.Transforms;
using static TorchSharp.torch;

namespace SslOrleans.Core.Tests.Tokenizers;

/// <summary>Small tokenizers on real Fashion-MNIST images, so each test takes seconds.</summary>
internal static class TokenizerTestKit
{
    public static readonly TokenizerOptions Small = new(HiddenDim: 32);

    public static ImageDataset Train => FashionMnist.LoadTrainCached(null);

    public static ImageDataset Test => FashionMnist.LoadTestCached(null);

    /// <summary>The first <paramref name="count"/> training images, normalised as BEiT would hand them over.</summary>
    public static Tensor Images(int count, int start = 0)
    {
        var data = Train;
        using var raw = data.ToTensor(Enumerable.Range(start, count).ToArray());
        return ViewTransform.Normalize(raw, data.Stats.Mean, data.Stats.Std);
    }

    public static TokenizerTrainingResult Trained(int steps, int seed = 0, int restartEvery = 20, int batch = 64, TokenizerOptions? options = null) =>
        TokenizerTrainer.Train(Train, options ?? Small, new TokenizerTrainingOptions(BatchSize: batch, Seed: seed, Steps: steps, RestartEvery: restartEvery));

    /// <summary>Same shape and every element equal (TorchSharp's Tensor.equal is element-wise).</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var same = a.eq(b);
        using var all = same.all();
        return all.item<bool>();
    }
}
