namespace SslOrleans.Core.Training;

/// <summary>
/// Module initialisation draws from libtorch's one global generator. Every construction whose weights must
/// depend only on a seed (methods, tokenizers), and every construction that draws from the generator at all
/// while others may be seeding it (a tokenizer built only to be loaded), goes through this one lock, so that
/// two threads never interleave their draws.
/// </summary>
public static class SeededConstruction
{
    private static readonly Lock Generator = new();

    /// <summary>Seeds the global generator and builds under the lock.</summary>
    public static T Seeded<T>(long seed, Func<T> create)
    {
        lock (Generator)
        {
            TorchSharp.torch.manual_seed(seed);
            return create();
        }
    }

    /// <summary>Builds under the lock without seeding: for modules whose random initial weights are overwritten.</summary>
    public static T Unseeded<T>(Func<T> create)
    {
        lock (Generator) return create();
    }
}
