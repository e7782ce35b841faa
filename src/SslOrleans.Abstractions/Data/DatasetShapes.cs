namespace SslOrleans.Abstractions.Data;

/// <summary>
/// The image side and channels of each dataset format when a run does not set them, and the ResNet stem that suits a
/// side: pure facts, so that a client, a silo and `sslo eval` resolve a spec to the same backbone.
/// </summary>
public static class DatasetShapes
{
    /// <summary>Image folders and tar shards hold images of any size: they are brought to this side unless the run says.</summary>
    public const int FolderImageSize = 64;

    /// <summary>The largest side at which the CIFAR stem (3×3, stride 1, no max-pool) is chosen; above it the ImageNet stem.</summary>
    public const int CifarStemMaxSize = 64;

    public static int ImageSize(string dataset) => dataset switch
    {
        "fashion-mnist" => 28,
        "cifar10" or "cifar100" => 32,
        "stl10" => 96,
        _ => FolderImageSize,
    };

    public static int Channels(string dataset) => dataset == "fashion-mnist" ? 1 : 3;

    public static string Stem(int imageSize) => imageSize <= CifarStemMaxSize ? "cifar" : "imagenet";
}
