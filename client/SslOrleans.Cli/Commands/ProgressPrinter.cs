using SslOrleans.Abstractions.Runs;
using SslOrleans.Client;

namespace SslOrleans.Cli.Commands;

/// <summary>Live progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise; a change
/// in the number of workers always gets a line of its own. Long phases other than training (evaluation's feature
/// extraction, the final checkpoint's upload) show how far they have come and an ETA the same way.</summary>
public sealed class ProgressPrinter(TextWriter stderr, bool? terminal = null)
{
    private readonly bool terminal = terminal ?? !Console.IsErrorRedirected;
    private DateTime lastLine = DateTime.MinValue;
    private DateTime lastPhaseLine = DateTime.MinValue;
    private string lastPhase = "";
    private int lastWorkers;

    public void Show(RunUpdate update)
    {
        var s = update.Status;
        if (update.Step is { } p)
        {
            if (p.Workers > 0 && lastWorkers > 0 && p.Workers != lastWorkers)
            {
                if (terminal) stderr.WriteLine();
                stderr.WriteLine($"sslo: step {p.Step}: {p.Workers} worker{(p.Workers == 1 ? "" : "s")} (was {lastWorkers})");
            }
            if (p.Workers > 0) lastWorkers = p.Workers;
            var line = $"step {p.Step}/{s.PlannedSteps}  epoch {p.Epoch:F2}  loss {p.Loss:F4}  {p.ImagesPerSec:F1} img/s  lr {p.Lr:G3}  probe {p.ProbeTrainTop1:F0}%  " +
                       $"workers {p.Workers}{(p.MicrobatchesRedone > 0 ? $"  redone {p.MicrobatchesRedone}" : "")}  rss {p.RssMib:F0} MiB  ETA {Eta(p.EtaSeconds)}";
            if (terminal) stderr.Write("\r" + line.PadRight(110));
            else if (DateTime.UtcNow - lastLine > TimeSpan.FromSeconds(5) || p.Step == s.PlannedSteps || p.Step == 1 || p.MicrobatchesRedone > 0)
            {
                stderr.WriteLine(line);
                lastLine = DateTime.UtcNow;
            }
        }
        else if (s.Phase != lastPhase && s.Phase != "training")
        {
            if (terminal && lastPhase == "training") stderr.WriteLine();
            stderr.WriteLine($"sslo: {s.Phase}");
            lastPhaseLine = DateTime.UtcNow;
        }
        else if (s.Progress is { } g && g.Phase == s.Phase)
        {
            var line = $"sslo: {g.Phase}: {g.Done}/{g.Total} {g.Unit} ({100 * g.Fraction:F0}%)  ETA {Eta(g.EtaSeconds)}";
            if (terminal) stderr.Write("\r" + line.PadRight(110) + (g.Done >= g.Total ? "\n" : ""));
            else if (DateTime.UtcNow - lastPhaseLine > TimeSpan.FromSeconds(5) || g.Done >= g.Total)
            {
                stderr.WriteLine(line);
                lastPhaseLine = DateTime.UtcNow;
            }
        }
        lastPhase = s.Phase;
    }

    public void Done()
    {
        if (terminal) stderr.WriteLine();
    }

    public static string Eta(double? seconds) => seconds is { } x && double.IsFinite(x)
        ? TimeSpan.FromSeconds(Math.Round(x)).ToString(x >= 3600 ? @"h\:mm\:ss" : @"m\:ss") : "?";
}
