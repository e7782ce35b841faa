using static TorchSharp.torch;

namespace SslOrleans.Core.Models;

/// <summary>A vision backbone: images in, one feature vector per image out.</summary>
public interface IBackbone
{
    long FeatureDim { get; }
    Tensor forward(Tensor images);
}
