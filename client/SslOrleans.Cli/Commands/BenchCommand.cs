using System.CommandLine;

namespace SslOrleans.Cli.Commands;

/// <summary>sslo bench: the measurements behind docs/benchmarks.md, each a subcommand of its own.</summary>
[Verb(70)]
public static class BenchCommand
{
    public static Command Create() => Sslo.Group("bench", "Measurements: learning per method, one worker's step against PyTorch, the gradient exchange against gloo, coordination at scale, the numerics self-check, checkpoints, the data path",
        BenchLearnCommand.Create(), BenchExchangeCommand.Create(), BenchNumericsCommand.Create(), BenchCheckpointCommand.Create(), BenchDataCommand.Create(),
        BenchStepCommand.Create(), BenchCoordinationCommand.Create());
}
