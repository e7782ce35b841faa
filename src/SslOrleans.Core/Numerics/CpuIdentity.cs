using System.Runtime.Intrinsics.X86;
using System.Text;

namespace SslOrleans.Core.Numerics;

/// <summary>
/// The processor as CPUID reports it: vendor ("GenuineIntel", "AuthenticAMD"), brand string and whether it has
/// AVX-512F. Read from CPUID itself rather than <c>Avx512F.IsSupported</c>, which reports what .NET chose to use
/// (DOTNET_EnableAVX512F=0 turns it off) and not what libtorch's oneDNN will dispatch to.
/// </summary>
public sealed record CpuIdentity(string Vendor, string Brand, bool Avx512F)
{
    public const string Amd = "AuthenticAMD";
    public const string Intel = "GenuineIntel";

    public static CpuIdentity Current { get; } = Read();

    public bool IsAmd => Vendor == Amd;

    public override string ToString() => Avx512F ? $"{Brand} ({Vendor}, AVX-512)" : $"{Brand} ({Vendor})";

    private static CpuIdentity Read()
    {
        if (!X86Base.IsSupported) return new CpuIdentity("non-x86", System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(), false);
        var (maxLeaf, b, c, d) = X86Base.CpuId(0, 0);
        var vendor = Ascii(b, d, c);
        bool avx512f = maxLeaf >= 7 && (X86Base.CpuId(7, 0).Ebx & (1 << 16)) != 0;
        string brand = vendor;
        if ((uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax >= 0x80000004)
        {
            var text = new StringBuilder();
            for (int leaf = 0; leaf < 3; leaf++)
            {
                var (a2, b2, c2, d2) = X86Base.CpuId(unchecked((int)0x80000002) + leaf, 0);
                text.Append(Ascii(a2, b2, c2, d2));
            }
            brand = text.ToString().TrimEnd('\0').Trim();
        }
        return new CpuIdentity(vendor, brand, avx512f);
    }

    private static string Ascii(params int[] registers)
    {
        var bytes = new byte[registers.Length * 4];
        for (int i = 0; i < registers.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), registers[i]);
        return Encoding.ASCII.GetString(bytes);
    }
}
