using SslOrleans.Abstractions.Runs;
using SslOrleans.Cli.Commands;
using SslOrleans.Client;

namespace SslOrleans.Grains.Tests.Cli;

/// <summary>The live progress of sslo pretrain, as it reads when stderr is no terminal (a log, CI).</summary>
public sealed class ProgressPrinterTests
{
    [Fact]
    public void Progress_shows_the_workers_and_redone_micro_batches_and_a_line_for_every_change_of_workers()
    {
        var stderr = new StringWriter();
        var printer = new ProgressPrinter(stderr, terminal: false);
        var status = new RunStatus("r", RunState.Running, 0, 100, "training", null, null, null);
        StepProgress Step(long step, int workers, int redone = 0) => new(step, 0.1, 1.5, 100, 1, 10, 0.1, 0.99, 0.1, 0.2, 50, workers, redone);
        printer.Show(new RunUpdate(status, Step(1, 1)));
        printer.Show(new RunUpdate(status, Step(2, 1)));
        printer.Show(new RunUpdate(status, Step(3, 3)));
        printer.Show(new RunUpdate(status, Step(4, 3, redone: 2)));
        printer.Show(new RunUpdate(status, Step(5, 2)));
        var lines = stderr.ToString().TrimEnd().Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Contains("workers 1", lines[0]);
        Assert.DoesNotContain("redone", lines[0]);
        // Step 2 comes within five seconds of step 1: no line; the change at step 3 gets one, a redone step too.
        Assert.Equal(["sslo: step 3: 3 workers (was 1)", "sslo: step 5: 2 workers (was 3)"], lines.Where(l => l.StartsWith("sslo: step")));
        Assert.Contains(lines, l => l.StartsWith("step 4/100") && l.Contains("workers 3  redone 2"));
        Assert.DoesNotContain(lines, l => l.StartsWith("step 2/"));
    }

    [Fact]
    public void A_long_phase_shows_how_far_it_has_come_with_an_eta_and_always_its_end()
    {
        var stderr = new StringWriter();
        var printer = new ProgressPrinter(stderr, terminal: false);
        const string phase = "kNN of the pretrained backbone";
        RunStatus At(long done, double seconds) => new("r", RunState.Evaluating, 10, 10, phase, null, null, null,
            Progress: PhaseProgress.At(phase, done, 70_000, "images", seconds));
        printer.Show(new RunUpdate(new RunStatus("r", RunState.Evaluating, 10, 10, phase, null, null, null), null));
        printer.Show(new RunUpdate(At(0, 0), null));
        printer.Show(new RunUpdate(At(10_000, 20), null));
        printer.Show(new RunUpdate(At(70_000, 140), null));
        var lines = stderr.ToString().TrimEnd().Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Equal($"sslo: {phase}", lines[0]);
        // The first report comes within five seconds of the phase's line: skipped; the end always shows.
        Assert.Equal([$"sslo: {phase}: 70000/70000 images (100%)  ETA 0:00"], lines.Skip(1));
        // 10 000 of 70 000 in 20 s: the other 60 000 at the same rate take 120 s.
        Assert.Equal(120, PhaseProgress.At(phase, 10_000, 70_000, "images", 20).EtaSeconds);
        Assert.Null(PhaseProgress.At(phase, 0, 70_000, "images", 5).EtaSeconds);
    }
}
