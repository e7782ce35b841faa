namespace SslOrleans.Core.Data.Images;

/// <summary>Which CIFAR binary: CIFAR-10 (10 classes) or CIFAR-100 (its 100 fine labels).</summary>
public enum CifarVariant
{
    Cifar10,
    Cifar100,
}
