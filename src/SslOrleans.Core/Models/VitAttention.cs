using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>
/// Multi-head self-attention with timm's layout: one <c>qkv</c> Linear D → 3D, scaled dot product, <c>proj</c>.
/// Written out because TorchSharp's MultiheadAttention names its parameters differently (in_proj_weight, …).
/// </summary>
public sealed class VitAttention : Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly long heads;
    private readonly double scale;

    public VitAttention(long dim, long heads) : base("attn")
    {
        if (dim % heads != 0) throw new ArgumentException($"embed dim {dim} is not divisible by {heads} heads", nameof(heads));
        this.heads = heads;
        scale = 1.0 / Math.Sqrt(dim / heads);
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        // [B, N, 3D] → [3, B, heads, N, D/heads]
        var parts = qkv.call(x).reshape(b, n, 3, heads, d / heads).permute(2, 0, 3, 1, 4);
        var q = parts[0];
        var k = parts[1];
        var v = parts[2];
        var weights = q.matmul(k.transpose(-2, -1)).Times(scale).softmax(-1);
        var y = weights.matmul(v).transpose(1, 2).reshape(b, n, d);
        return proj.call(y).MoveToOuterDisposeScope();
    }
}
