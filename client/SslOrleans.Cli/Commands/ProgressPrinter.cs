using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

namespace SslOrleans.Cli.Commands;

/// <summary>Live progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise.</summary>
public sealed class ProgressPrinter(TextWriter stderr)
{
    private readonly bool terminal = !Console.IsErrorRedirected;
    private DateTime lastLine = DateTime.MinValue;
    private string lastPhase = "";

    public void Show(RunUpdate update)
    {
        var s = update.Status;
        if (update.Step is { } p)
        {
            var line = $"step {p.Step}/{s.PlannedSteps}  epoch {p.Epoch:F2}  loss {p.Loss:F4}  {p.ImagesPerSec:F1} img/s  lr {p.Lr:G3}  probe {p.ProbeTrainTop1:F0}%  ETA {Eta(p.EtaSeconds)}";
            if (terminal) stderr.Write("\r" + line.PadRight(100));
            else if (DateTime.UtcNow - lastLine > TimeSpan.FromSeconds(5) || p.Step == s.PlannedSteps || p.Step == 1)
            {
                stderr.WriteLine(line);
                lastLine = DateTime.UtcNow;
            }
        }
        else if (s.Phase != lastPhase && s.Phase != "training")
        {
            if (terminal && lastPhase == "training") stderr.WriteLine();
            stderr.WriteLine($"sslo: {s.Phase}");
        }
        lastPhase = s.Phase;
    }

    public void Done()
    {
        if (terminal) stderr.WriteLine();
    }

    private static string Eta(double? seconds) => seconds is { } x && double.IsFinite(x)
        ? TimeSpan.FromSeconds(Math.Round(x)).ToString(x >= 3600 ? @"h\:mm\:ss" : @"m\:ss") : "?";
}
