using static TorchSharp.torch.utils;

namespace SslOrleans.Core.Diagnostics;

/// <summary>
/// Loss curves as TensorBoard event files (TorchSharp's SummaryWriter): `tensorboard --logdir OUT/tensorboard`.
/// Each record is appended to the file as it is written, so a crash loses nothing already logged.
/// </summary>
public sealed class TensorBoardLog(string directory)
{
    private readonly TorchSharp.Modules.SummaryWriter writer = tensorboard.SummaryWriter(directory);

    public string Directory => writer.LogDir;

    public void Record(long step, IEnumerable<KeyValuePair<string, double>> scalars)
    {
        lock (writer)
        {
            foreach (var (tag, value) in scalars)
                if (double.IsFinite(value)) writer.add_scalar(tag, (float)value, checked((int)step));
        }
    }
}
