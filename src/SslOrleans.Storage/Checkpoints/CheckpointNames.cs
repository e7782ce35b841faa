namespace SslOrleans.Storage.Checkpoints;

public static class CheckpointNames
{
    public const string Manifest = "manifest.json";
    public const string Latest = "latest";
    public const string Backbone = "backbone.safetensors";

    public static string Folder(long step) => $"step-{step:D8}";
    public static string Shard(int index) => $"shard-{index}.bin";
}
