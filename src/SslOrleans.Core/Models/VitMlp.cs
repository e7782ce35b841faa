using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SslOrleans.Core.Models;

/// <summary>Transformer MLP: fc1 (D → hidden) → GELU (exact, as nn.GELU) → fc2 (hidden → D); timm's names.</summary>
public sealed class VitMlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly GELU act;
    private readonly Linear fc2;

    public VitMlp(long dim, long hidden) : base("mlp")
    {
        fc1 = Linear(dim, hidden);
        act = GELU();
        fc2 = Linear(hidden, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = fc1.call(x);
        using var a = act.forward(h);
        return fc2.call(a);
    }
}
