using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SslOrleans.Core.Models;

/// <summary>
/// Batch norm over dimension 1 of [N, C] or [N, C, H, W], with PyTorch's names and defaults (weight, bias,
/// running_mean, running_var, num_batches_tracked; momentum 0.1, eps 1e-5).
/// Why not TorchSharp's BatchNorm1d/2d: in training mode they call <c>num_batches_tracked.add_(1)</c>, which
/// turns 1 into a temporary <see cref="Scalar"/> for the alpha argument. The temporary is unreachable while
/// libtorch reads it, so a garbage collection during the call can finalize (free) it first, and libtorch then
/// reads freed memory. A 15-minute run died of this at step 247 ("For integral input tensors, argument alpha
/// must not be a floating point number"). Here the scalar is held until the call returns.
/// </summary>
public sealed class BatchNormalization : nn.Module<Tensor, Tensor>
{
    private const double Momentum = 0.1, Eps = 1e-5;

    private readonly Parameter? weight;
    private readonly Parameter? bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;

    public BatchNormalization(long features, bool affine = true) : base("batch_norm")
    {
        if (affine)
        {
            weight = new Parameter(ones(features));
            bias = new Parameter(zeros(features));
        }
        running_mean = zeros(features);
        running_var = ones(features);
        num_batches_tracked = tensor(0L);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        if (training)
        {
            using var one = 1L.ToScalar();
            num_batches_tracked.add_(one, one);
        }
        return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, Momentum, Eps);
    }
}
