using SslOrleans.Cli.Commands;
using SslOrleans.Cli.Specs;
using SslOrleans.Core.Data;

namespace SslOrleans.Cli;

/// <summary>The sslo command line: dispatches to a command and turns bad input into one clear line and exit code 2.</summary>
public static class Sslo
{
    public const string Usage = """
        usage: sslo <command> [flags]
          pretrain [--config FILE] [--method byol|simclr|barlow|rotnet|mae|beit] [--dataset fashion-mnist] [--data DIR] [--width N] [--workers N]
                   [--batch B] [--micro-batch M] [--steps N | --epochs E | --minutes M] [--seed S] [--out DIR|az://CONTAINER/PREFIX]
                   [--resume] [--stop-after N] [--checkpoint-every N] [--checkpoint-minutes 10] [--keep-last 3] [--no-eval] [--lr X] [--tokenizer DIR (beit)] …
                   [--cluster CONN]
                   runs on an embedded single-process cluster, or with --cluster on an existing one (deploy/local/cluster.sh up N
                   prints CONN): redis://host:port[?cluster=ID&service=ID] or an Azure Storage connection string
                   [;ClusterId=ID;ServiceId=ID]; without an id, the one cluster with active silos there is used;
                   progress on stderr, a JSON result (with silos and workers) as the last stdout line; Ctrl+C stops with a checkpoint;
                   elastic: [--min-workers N] [--max-workers N] [--step-deadline-seconds S] (workers start the run)
          scale RUN --workers N --cluster CONN
                   sets the workers a running run aims for from its next step boundary (1..batch/micro-batch; the global
                   batch and micro-batch stay); one JSON line: run id, state, step, target and current workers
          status RUN --cluster CONN
                   a run's status on the cluster (state, step, last step, sample ledger totals, workers, result) as one JSON line
          checkpoint list LOCATION | verify LOCATION [--step N] | download LOCATION [--step N] --to DIR [--format safetensors|pytorch]
                   a run's checkpoints (steps, time, metrics, which one 'latest' names); the sha256 of every file of one;
                   its files into DIR (pytorch: also backbone.pt and model.json, see docs/checkpoints.md).
                   LOCATION: a run folder or az://CONTAINER/PREFIX (account from SSLO_STORAGE), a step folder or a manifest.json
          data upload [--dataset fashion-mnist] [--data DIR] | --from DIR  --to az://CONTAINER/PREFIX
                   puts the dataset's files (or a folder's, e.g. a tokenizer) into blob storage for --data / --tokenizer az://…
          eval --checkpoint PATH [--init] [--data DIR] [--train-samples N] [--test-samples N]
                   kNN (k = 20, 200) and linear-probe top-1 of a checkpoint's backbone (--init: the run's initial one);
                   PATH: a run folder, a step folder or a manifest.json; the sample limits take the first N of each split
          bench learn [--minutes 15] [--width 16] [--methods byol,simclr,barlow,rotnet,mae,beit] [--doc docs/benchmarks.md] …
                   pretrains each method from configs/<method>-fashion-mnist.yaml for the same budget (beit after training
                   its tokenizer), evaluates each, and writes its rows into the table of docs/benchmarks.md
          bench exchange [--params 11200000] [--workers 2] [--silos 2] [--shards N] [--chunk-bytes B] [--gradient-dtype float64|float32|bfloat16] [--rounds 5]
                   one step's exchange (push gradients, aggregate, pull parameters) across real silo processes on loopback,
                   beside a memcpy and a raw loopback TCP transfer of the same bytes; JSON as the last stdout line
          bench numerics [--backbone resnet18] [--width 16] [--micro-batch 32] [--threads 1] [--image-size 28] [--channels 1] [--rounds 3]
                   what a worker's numerics self-check (every conv and linear layer against float64) costs; JSON as the last stdout line
          bench checkpoint --to az://CONTAINER/PREFIX|DIR [--backbone resnet50] [--width 64] [--run-width 16] [--run-steps 24] [--run-every 4]
                   one checkpoint of the model's whole state to --to and to a local folder with fsync (bytes, seconds, MB/s), and
                   a short run with a checkpoint every few steps against one without (step time, time the loop waited per checkpoint)
          tokenizer train [--dataset fashion-mnist] [--data DIR] [--out runs/tokenizer-fashion-mnist] [--codebook 512] [--patch-size 4]
                   [--code-dim 32] [--hidden-dim 64] [--steps N | --minutes 2] [--batch 256] [--lr 1e-3] [--seed 0] [--force]
                   trains the VQ-VAE patch tokenizer of BEiT-style pretraining; writes tokenizer.safetensors + tokenizer.json to --out
        methods: byol, simclr, barlow, rotnet, mae, beit; backbones: resnet18, resnet50 (--stem cifar|imagenet), vit-tiny (--patch-size P)
        every run-spec key works as a flag: --key value (snake_case keys, '-' or '_')
        """;

    public static async Task<int> MainAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            // Before anything computes (eval and tokenizer training run convolutions in this process).
            Core.Numerics.OneDnnIsaGuard.Apply();
            return args[0] switch
            {
                "pretrain" => await PretrainCommand.RunAsync(args[1..], stdout, stderr),
                "scale" => await ScaleCommand.ScaleAsync(args[1..], stdout, stderr),
                "status" => await ScaleCommand.StatusAsync(args[1..], stdout, stderr),
                "checkpoint" => await CheckpointCommand.RunAsync(args[1..], stdout, stderr),
                "eval" => EvalCommand.Run(args[1..], stdout, stderr),
                "data" when args.Length > 1 && args[1] == "upload" => await DataCommand.UploadAsync(args[2..], stdout, stderr),
                "bench" when args.Length > 1 && args[1] == "learn" => await BenchLearnCommand.RunAsync(args[2..], stdout, stderr),
                "bench" when args.Length > 1 && args[1] == "exchange" => await BenchExchangeCommand.RunAsync(args[2..], stdout, stderr),
                "bench" when args.Length > 1 && args[1] == "numerics" => BenchNumericsCommand.Run(args[2..], stdout, stderr),
                "bench" when args.Length > 1 && args[1] == "checkpoint" => await BenchCheckpointCommand.RunAsync(args[2..], stdout, stderr),
                "tokenizer" when args.Length > 1 && args[1] == "train" => TokenizerCommand.Train(args[2..], stdout, stderr),
                _ => Unknown(args[0], stderr),
            };
        }
        catch (Exception e) when (e is SpecException or ArgumentException or DatasetNotFoundException or IdxFormatException or FileNotFoundException or InvalidDataException
                                      or Client.ClusterConnectionException or Hosting.SslConfigurationException)
        {
            stderr.WriteLine($"sslo: {e.Message}");
            return 2;
        }
        catch (Azure.RequestFailedException e)
        {
            // The storage account refused or failed (after the retries): not the user's flags, but say which request.
            stderr.WriteLine($"sslo: blob storage: {e.Status} {e.ErrorCode}: {e.Message.Split('\n')[0]}");
            return 1;
        }
        catch (Core.Numerics.NumericsCheckException e)
        {
            // Not bad input: this processor computes wrong results, and the message says what to do (exit 1, as a failed run).
            stderr.WriteLine($"sslo: {e.Message}");
            return 1;
        }
    }

    private static int Unknown(string command, TextWriter stderr)
    {
        stderr.WriteLine($"sslo: unknown command '{command}'");
        stderr.WriteLine(Usage);
        return 2;
    }
}
