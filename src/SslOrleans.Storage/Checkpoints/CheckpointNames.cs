namespace SslOrleans.Storage.Checkpoints;

public static class CheckpointNames
{
    public const string Manifest = "manifest.json";
    public const string Latest = "latest";
    public const string Backbone = "backbone.safetensors";
    /// <summary>The online linear probe ("weight" [classes, features], "bias" [classes]) trained beside pretraining.</summary>
    public const string OnlineProbe = "online_probe.safetensors";

    public static string Folder(long step) => $"step-{step:D8}";
    public static string Shard(int index) => $"shard-{index}.bin";
}
