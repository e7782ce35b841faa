using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)); timm's names.</summary>
public sealed class VitBlock : Module<Tensor, Tensor>
{
    // timm's ViT uses eps 1e-6 rather than PyTorch's default 1e-5; loading its weights needs the same.
    public const double LayerNormEps = 1e-6;

    private readonly LayerNorm norm1;
    private readonly VitAttention attn;
    private readonly LayerNorm norm2;
    private readonly VitMlp mlp;

    public VitBlock(long dim, long heads, long mlpHidden) : base("block")
    {
        norm1 = LayerNorm(dim, LayerNormEps);
        attn = new VitAttention(dim, heads);
        norm2 = LayerNorm(dim, LayerNormEps);
        mlp = new VitMlp(dim, mlpHidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = x.Plus(attn.forward(norm1.forward(x)));
        return y.Plus(mlp.forward(norm2.forward(y))).MoveToOuterDisposeScope();
    }
}
