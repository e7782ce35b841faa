using System.Numerics;
using System.Runtime.InteropServices;

namespace SslOrleans.Grains.Compute;

/// <summary>
/// How a worker's float64 gradient sums travel to the shards (run spec <c>gradient_dtype</c>):
/// <c>float64</c> (default) keeps them exact, so the shard's sum does not depend on how micro-batches are
/// grouped into workers; <c>float32</c> halves the bytes and <c>bfloat16</c> quarters them, each rounding a
/// worker's partial sum once (round to nearest even), so 1 and 2 workers no longer train bit-identical models.
/// </summary>
public static class GradientWire
{
    public static readonly string[] Names = ["float64", "float32", "bfloat16"];

    public static int ElementBytes(string dtype) => dtype switch
    {
        "float64" => 8,
        "float32" => 4,
        "bfloat16" => 2,
        _ => throw new ArgumentException($"gradient_dtype '{dtype}': must be one of {string.Join(", ", Names)}"),
    };

    /// <summary>The payload the regions form, cut into chunks of at most <paramref name="chunkBytes"/> encoded bytes,
    /// written into <paramref name="reuse"/>'s arrays for (<paramref name="key"/>, chunk index) when given.</summary>
    public static List<(long Offset, long Total, byte[] Data)> Chunks(Region<double>[] regions, int chunkBytes, string dtype, ChunkBuffers? reuse = null, int key = 0)
    {
        int size = ElementBytes(dtype);
        long total = regions.Sum(r => (long)r.Length);
        var chunks = new List<(long, long, byte[])>();
        foreach (var (offset, count) in TensorBytes.Chunks(total, chunkBytes, size))
        {
            var data = reuse?.Get(key, chunks.Count, count * size) ?? new byte[count * size];
            // Each region's part of the chunk is encoded straight from where it lives into its place in the chunk.
            foreach (var (array, start, at, length) in Regions.Overlaps(regions, offset, count))
                Encode(array.AsSpan(start, length), dtype, data.AsSpan(at * size, length * size));
            chunks.Add((offset, total, data));
        }
        return chunks;
    }

    /// <summary>The index of the first value that would not reach the shards as a finite number (NaN, infinite, or beyond
    /// the largest finite value of <paramref name="dtype"/>, which rounding would make infinite), or null when none.
    /// A step whose every contribution passes has a finite float64 sum and mean, so a worker can vouch for its own.</summary>
    public static int? FirstUnsendable(ReadOnlySpan<double> values, string dtype)
    {
        // bfloat16 keeps float32's exponent but rounds its 8-bit mantissa up towards infinity above ~3.3895e38.
        double limit = dtype switch { "float64" => double.MaxValue, "float32" => float.MaxValue, _ => 3.38e38 };
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // |x| <= limit is false for NaN and for ±∞: one compare per lane.
            var lanes = MemoryMarshal.Cast<double, Vector<double>>(values);
            var bound = new Vector<double>(limit);
            for (; i < lanes.Length; i++)
                if (!Vector.LessThanOrEqualAll(Vector.Abs(lanes[i]), bound)) break;
            i *= Vector<double>.Count;
        }
        for (; i < values.Length; i++)
            if (!(Math.Abs(values[i]) <= limit)) return i;
        return null;
    }

    public static byte[] Encode(ReadOnlySpan<double> values, string dtype)
    {
        var bytes = new byte[values.Length * ElementBytes(dtype)];
        Encode(values, dtype, bytes);
        return bytes;
    }

    public static void Encode(ReadOnlySpan<double> values, string dtype, Span<byte> bytes)
    {
        if (bytes.Length != values.Length * ElementBytes(dtype))
            throw new ArgumentException($"{values.Length} {dtype} values need {values.Length * ElementBytes(dtype)} bytes, not {bytes.Length}");
        // The SIMD loops do per lane exactly what the scalar loops (which take the tails) do per element.
        switch (dtype)
        {
            case "float64":
                MemoryMarshal.AsBytes(values).CopyTo(bytes);
                break;
            case "float32":
            {
                var f = MemoryMarshal.Cast<byte, float>(bytes);
                var vd = MemoryMarshal.Cast<double, Vector<double>>(values);
                var vf = MemoryMarshal.Cast<float, Vector<float>>(f);
                int blocks = Math.Min(vd.Length / 2, vf.Length);
                for (int k = 0; k < blocks; k++) vf[k] = Vector.Narrow(vd[2 * k], vd[2 * k + 1]);
                for (int i = blocks * Vector<float>.Count; i < values.Length; i++) f[i] = (float)values[i];
                break;
            }
            default:
            {
                var h = MemoryMarshal.Cast<byte, ushort>(bytes);
                var vd = MemoryMarshal.Cast<double, Vector<double>>(values);
                var vh = MemoryMarshal.Cast<ushort, Vector<ushort>>(h);
                int blocks = Math.Min(vd.Length / 4, vh.Length);
                for (int k = 0; k < blocks; k++)
                    vh[k] = Vector.Narrow(
                        BFloat16Bits(Vector.Narrow(vd[4 * k], vd[4 * k + 1])),
                        BFloat16Bits(Vector.Narrow(vd[4 * k + 2], vd[4 * k + 3])));
                for (int i = blocks * Vector<ushort>.Count; i < values.Length; i++) h[i] = ToBFloat16((float)values[i]);
                break;
            }
        }
    }

    /// <summary>Adds the decoded values of <paramref name="data"/> to <paramref name="sums"/>, element by element in order.</summary>
    public static void AddTo(Span<double> sums, ReadOnlySpan<byte> data, string dtype)
    {
        // Elementwise adds give the same bits in SIMD lanes as one at a time; the scalar loops take the tails.
        switch (dtype)
        {
            case "float64":
            {
                var d = MemoryMarshal.Cast<byte, double>(data);
                var vs = MemoryMarshal.Cast<double, Vector<double>>(sums[..d.Length]);
                var vd = MemoryMarshal.Cast<double, Vector<double>>(d);
                for (int i = 0; i < vs.Length; i++) vs[i] += vd[i];
                for (int i = vs.Length * Vector<double>.Count; i < d.Length; i++) sums[i] += d[i];
                break;
            }
            case "float32":
            {
                var f = MemoryMarshal.Cast<byte, float>(data);
                var vs = MemoryMarshal.Cast<double, Vector<double>>(sums[..f.Length]);
                var vf = MemoryMarshal.Cast<float, Vector<float>>(f);
                int blocks = Math.Min(vf.Length, vs.Length / 2);
                for (int k = 0; k < blocks; k++)
                {
                    Vector.Widen(vf[k], out var lo, out var hi);
                    vs[2 * k] += lo;
                    vs[2 * k + 1] += hi;
                }
                for (int i = blocks * Vector<float>.Count; i < f.Length; i++) sums[i] += f[i];
                break;
            }
            default:
            {
                var h = MemoryMarshal.Cast<byte, ushort>(data);
                var vs = MemoryMarshal.Cast<double, Vector<double>>(sums[..h.Length]);
                var vh = MemoryMarshal.Cast<ushort, Vector<ushort>>(h);
                int blocks = Math.Min(vh.Length, vs.Length / 4);
                for (int k = 0; k < blocks; k++)
                {
                    Vector.Widen(vh[k], out var a, out var b);
                    Vector.Widen(Vector.AsVectorSingle(Vector.ShiftLeft(a, 16)), out var d0, out var d1);
                    Vector.Widen(Vector.AsVectorSingle(Vector.ShiftLeft(b, 16)), out var d2, out var d3);
                    vs[4 * k] += d0;
                    vs[4 * k + 1] += d1;
                    vs[4 * k + 2] += d2;
                    vs[4 * k + 3] += d3;
                }
                for (int i = blocks * Vector<ushort>.Count; i < h.Length; i++) sums[i] += FromBFloat16(h[i]);
                break;
            }
        }
    }

    /// <summary><see cref="ToBFloat16"/> in SIMD lanes, the result still in the low half of each 32-bit lane.</summary>
    private static Vector<uint> BFloat16Bits(Vector<float> values)
    {
        var bits = Vector.AsVectorUInt32(values);
        var rounded = bits + new Vector<uint>(0x7FFFu) + (Vector.ShiftRightLogical(bits, 16) & Vector<uint>.One);
        var nan = Vector.AsVectorUInt32(~Vector.Equals(values, values));
        return Vector.ShiftRightLogical(Vector.ConditionalSelect(nan, bits | new Vector<uint>(0x00400000u), rounded), 16);
    }

    /// <summary>The upper half of the float32, rounded to nearest even; NaN stays NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        bits += 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }

    public static float FromBFloat16(ushort value) => BitConverter.UInt32BitsToSingle((uint)value << 16);
}
