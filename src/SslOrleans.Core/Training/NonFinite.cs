using System.Numerics;
using System.Runtime.InteropServices;

namespace SslOrleans.Core.Training;

/// <summary>Finds NaN and infinite values: a step whose mean gradient holds one is refused before it is applied.</summary>
public static class NonFinite
{
    /// <summary>The index of the first NaN or infinite value, or null when every value is finite.</summary>
    public static int? First(ReadOnlySpan<float> values)
    {
        // x − x is 0 for every finite x and NaN for NaN and ±∞: one subtraction and compare per lane.
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var lanes = MemoryMarshal.Cast<float, Vector<float>>(values);
            for (int v = 0; v < lanes.Length; v++)
            {
                var x = lanes[v];
                if (!Vector.EqualsAll(x - x, Vector<float>.Zero)) { i = v * Vector<float>.Count; break; }
                i = (v + 1) * Vector<float>.Count;
            }
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return null;
    }
}
