using System.Text.Json;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Models;
using SslOrleans.Core.Numerics;
using TorchSharp;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo bench numerics: what a worker's numerics self-check costs for one backbone, micro-batch and thread count,
/// over a few rounds, with the processor and the oneDNN guard's decision. One JSON object on the last line.
/// </summary>
public static class BenchNumericsCommand
{
    public const string Usage = "usage: sslo bench numerics [--backbone resnet18|resnet50|vit-tiny] [--width 16] [--stem cifar|imagenet] [--patch-size 4] " +
                                "[--image-size 28] [--channels 1] [--micro-batch 32] [--threads 1] [--rounds 3]";

    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        var flags = CommandFlags.Parse(args, "bench numerics", Usage,
            ["backbone", "width", "stem", "patch-size", "image-size", "channels", "micro-batch", "threads", "rounds"], []);
        int imageSize = flags.PositiveInteger("image-size") ?? 28;
        var options = new BackboneOptions(flags.Text("backbone") ?? "resnet18", flags.PositiveInteger("width") ?? 16,
            flags.PositiveInteger("channels") ?? 1, flags.Text("stem") ?? "cifar", flags.PositiveInteger("patch-size") ?? 4, imageSize);
        int microBatch = flags.PositiveInteger("micro-batch") ?? 32;
        int threads = flags.PositiveInteger("threads") ?? 1;
        int rounds = flags.PositiveInteger("rounds") ?? 3;

        torch.set_num_threads(threads);
        using var backbone = options.Create();
        stderr.WriteLine($"sslo bench numerics: {backbone.Architecture}, micro-batch {microBatch} of {options.InputChannels}×{imageSize}×{imageSize}, " +
                         $"{threads} threads, {rounds} rounds after one warm-up; {CpuIdentity.Current}; {OneDnnIsaGuard.Decision}");
        long[] shape = [microBatch, options.InputChannels, imageSize, imageSize];
        NumericsSelfCheck.Run(backbone, shape); // warm-up: libtorch's first calls allocate and pick kernels
        var seconds = new List<double>();
        NumericsReport? last = null;
        for (int r = 0; r < rounds; r++)
        {
            last = NumericsSelfCheck.Run(backbone, shape, seed: r + 1);
            seconds.Add(last.Seconds);
            stderr.WriteLine($"  round {r + 1}: {last}");
        }
        seconds.Sort();
        stdout.WriteLine(JsonSerializer.Serialize(new
        {
            architecture = backbone.Architecture,
            micro_batch = microBatch,
            image_size = imageSize,
            threads,
            ops = last!.Ops,
            seconds_median = seconds[seconds.Count / 2],
            seconds_max = seconds[^1],
            worst_ratio = last.WorstRatio,
            processor = CpuIdentity.Current.ToString(),
            onednn = OneDnnIsaGuard.Decision.ToString(),
        }));
        return 0;
    }
}
