using System.CommandLine;
using System.Text.Json;
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
    public static Command Create()
    {
        var backbone = Flag.Text("--backbone", "NAME", "resnet18, resnet50 or vit-tiny", "resnet18");
        var width = Flag.PositiveInteger("--width", "Backbone width", 16);
        var stem = Flag.Text("--stem", "NAME", "ResNet stem: cifar or imagenet", "cifar");
        var patchSize = Flag.PositiveInteger("--patch-size", "ViT patch size", 4);
        var imageSize = Flag.PositiveInteger("--image-size", "Side of the input images", 28);
        var channels = Flag.PositiveInteger("--channels", "Channels of the input images", 1);
        var microBatch = Flag.PositiveInteger("--micro-batch", "Images per check, as a worker's micro-batch", 32);
        var threads = Flag.PositiveInteger("--threads", "libtorch's intra-op threads", 1);
        var rounds = Flag.PositiveInteger("--rounds", "Measured rounds after one warm-up", 3);
        var command = new Command("numerics",
            "What a worker's numerics self-check (every conv and linear layer against float64) costs; JSON as the last stdout line")
        {
            backbone, width, stem, patchSize, imageSize, channels, microBatch, threads, rounds,
        };
        command.SetAction(parsed => Run(
            new BackboneOptions(parsed.GetValue(backbone)!, parsed.GetValue(width), parsed.GetValue(channels), parsed.GetValue(stem)!,
                parsed.GetValue(patchSize), parsed.GetValue(imageSize)),
            parsed.GetValue(microBatch), parsed.GetValue(threads), parsed.GetValue(rounds), parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    private static int Run(BackboneOptions options, int microBatch, int threads, int rounds, TextWriter stdout, TextWriter stderr)
    {
        int imageSize = options.ImageSize;
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
