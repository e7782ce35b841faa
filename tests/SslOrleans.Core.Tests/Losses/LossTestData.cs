namespace SslOrleans.Core.Tests.Losses;

internal static class LossTestData
{
    public static float[,] Random(int n, int d, int seed)
    {
        var r = new System.Random(seed);
        var a = new float[n, d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) a[i, j] = (float)(r.NextDouble() * 2 - 1);
        return a;
    }
}
