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
}
