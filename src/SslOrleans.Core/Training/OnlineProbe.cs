using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SslOrleans.Core.Training;

/// <summary>
/// The online linear probe: a linear classifier on detached backbone features. Its weights start at zero,
/// which logistic regression converges from and which draws nothing from libtorch's global generator: a
/// random draw here would race with other replicas being seeded in the same process.
/// </summary>
public sealed class OnlineProbe : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    public OnlineProbe(long features, long classes) : base("probe")
    {
        weight = new Parameter(zeros(classes, features));
        bias = new Parameter(zeros(classes));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight, bias);
}
