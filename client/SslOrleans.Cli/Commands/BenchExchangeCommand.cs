using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SslOrleans.Abstractions.Bench;
using SslOrleans.Abstractions.Runs;
using SslOrleans.Abstractions.Shards;
using SslOrleans.Abstractions.Workers;
using SslOrleans.Cli.Specs;
using SslOrleans.Grains.Compute;
using SslOrleans.Grains.Placement;
using SslOrleans.Grains.Runs;
using SslOrleans.Hosting;

namespace SslOrleans.Cli.Commands;

/// <summary>
/// sslo bench exchange: the exchange of one synchronous step (every worker pushes its gradient, the shards
/// aggregate and apply the optimizer, every worker pulls the new parameters) across real silo processes on
/// loopback, beside a memcpy and a raw loopback TCP transfer of the same bytes, and gloo's allreduce of a float32 tensor of
/// the same number of elements between as many processes (bench/allreduce.py in Debian's Python with torch.distributed).
/// One JSON object on the last line.
/// </summary>
public static class BenchExchangeCommand
{
    private const int TensorSize = 1 << 20;

    public static Command Create()
    {
        var parameters = Flag.PositiveInteger("--params", "Parameters of the synthetic model (cut into 1 Mi-element tensors)", 11_200_000);
        var workers = Flag.PositiveInteger("--workers", "Workers that push and pull", 2);
        var silos = Flag.PositiveInteger("--silos", "Silo processes started on loopback (at most 16)", 2);
        var shards = Flag.PositiveInteger("--shards", "Parameter shards (default: 2 × silos)");
        var chunkBytes = Flag.PositiveInteger("--chunk-bytes", "Largest tensor payload of one message", new RunSpec().ChunkBytes);
        var dtype = Flag.OneOf("--gradient-dtype", "How workers send gradient sums", "float64", GradientWire.Names);
        var rounds = Flag.PositiveInteger("--rounds", "Measured rounds after one warm-up", 5);
        var mirror = Flag.Switch("--mirror-shards", "After its apply every shard copies its state to a mirror on another silo, as in runs (part of 'aggregate'); " +
            "--mirror-shards false measures without [default: true]",
            defaultValue: true);
        var silo = Flag.Text("--silo", "PATH", "The silo host's SslOrleans.Silo.dll (default: beside sslo, or artifacts/silo)");
        var gloo = Flag.Switch("--gloo", "Also time gloo's allreduce of a float32 tensor of --params elements between --workers processes " +
            "(bench/allreduce.py, PyTorch's torch.distributed) before the silos start; --gloo false skips it [default: true]",
            defaultValue: true);
        var python = Flag.Text("--python", "PATH", "The Python with torch.distributed (gloo) that runs bench/allreduce.py", BenchScripts.DefaultPython);
        var inProcess = Flag.Switch("--in-process", "Run the silos in this process (each still listening on its own loopback ports) instead of as silo processes");
        var tls = Flag.Switch("--tls", "The tensor data plane over mutual TLS: a throwaway cluster authority and one certificate per silo are made " +
            "in-process (needs --in-process: silo processes take their TLS identity from the cluster's own TLS settings)");
        var command = new Command("exchange",
            "One step's exchange (push gradients, aggregate, pull parameters) across real silo processes on loopback, beside a memcpy " +
            "and a raw loopback TCP transfer of the same bytes and gloo's allreduce of the same tensor; JSON as the last stdout line")
        {
            parameters, workers, silos, shards, chunkBytes, dtype, rounds, mirror, silo, gloo, python, inProcess, tls,
        };
        command.SetAction((parsed, _) => RunAsync(parsed.GetValue(parameters), parsed.GetValue(workers), parsed.GetValue(silos),
            parsed.GetValue(shards) ?? 2 * parsed.GetValue(silos), parsed.GetValue(chunkBytes), parsed.GetValue(dtype)!, parsed.GetValue(rounds),
            parsed.GetValue(mirror), parsed.GetValue(silo), parsed.GetValue(gloo) ? parsed.GetValue(python) : null,
            new SiloHosting(parsed.GetValue(inProcess), parsed.GetValue(tls)), parsed.Stdout(), parsed.Stderr()));
        return command;
    }

    private static async Task<int> RunAsync(int parameters, int workers, int silos, int shards, int chunkBytes, string dtype, int rounds,
        bool mirror, string? siloPath, string? python, SiloHosting hosting, TextWriter stdout, TextWriter stderr)
    {
        if (silos > 16) throw new SpecException($"bench exchange: --silos wants at most 16 processes on this machine, got {silos}");
        if (hosting.Tls && !hosting.InProcess)
            throw new SpecException("bench exchange: --tls needs --in-process (silo processes take the data plane's TLS identity from the cluster's TLS settings)");
        GlooAllreduce? allreduce = python is null ? null : GlooAllreduce.Locate(python);
        string? siloDll = hosting.InProcess ? null : SiloDll(siloPath);
        if (allreduce is not null) await allreduce.CheckTorchAsync();

        var spec = RunPlan.WithMethodDefaults(new RunSpec
        {
            RunId = "bench-exchange-" + Guid.NewGuid().ToString("N")[..8], Method = "simclr",
            ParameterShards = shards, ChunkBytes = chunkBytes, GradientDtype = dtype, Workers = workers, MirrorShards = mirror,
        });
        RunSpecValidator.ThrowIfInvalid(spec);
        var layout = SyntheticLayout(parameters);
        var map = RunPlan.Shards(spec, layout);

        stderr.WriteLine($"sslo bench exchange: {parameters:N0} parameters, {workers} workers on {silos} silo processes, {map.Shards.Length} shards, " +
                         $"chunks of {chunkBytes:N0} bytes, gradients as {dtype}, {rounds} rounds after one warm-up");
        // The baselines first, on a quiet machine: every worker's push and pull, as one block of bytes.
        long bytes = (long)workers * parameters * (GradientWire.ElementBytes(dtype) + sizeof(float));
        var memcpy = new List<double>();
        var tcp = new List<double>();
        for (int round = 0; round <= rounds; round++)
        {
            double m = Memcpy(bytes), t = await TcpAsync(bytes);
            if (round == 0) continue; // warm-up
            memcpy.Add(m);
            tcp.Add(t);
        }
        // gloo's allreduce of the same tensor (float32, --params elements) between --workers processes, still before the silos.
        GlooAllreduce.Result? glooResult = allreduce is null ? null : await allreduce.RunAsync(parameters, workers, rounds, stderr);

        await using var cluster = await BenchSilos.StartAsync(siloDll, silos, slotsPerSilo: (workers + silos - 1) / silos, hosting.Tls, stderr);
        var grains = cluster.Client;
        var hosts = await cluster.ActiveSilosAsync();

        var shardGrains = map.Shards.Select(r => grains.GetGrain<IParameterShardGrain>(map.ShardKey(r.Index))).ToArray();
        await Task.WhenAll(shardGrains.Select((g, k) => PlacementHint.On(hosts[k % hosts.Length],
            () => g.ConfigureAsync(new ShardConfig(map.Shards[k], RunPlan.TensorsOf(layout, map.Shards[k]), spec)))));
        var endpoints = await Task.WhenAll(shardGrains.Select(g => g.GetDataEndpointAsync()));
        bool dataPlane = endpoints.All(e => e is not null);
        if (endpoints.Any(e => e is not null)) map = map with { DataEndpoints = endpoints };
        var bench = Enumerable.Range(0, workers).Select(w => grains.GetGrain<IExchangeBenchGrain>($"{spec.RunId}/{w}")).ToArray();
        var placed = await Task.WhenAll(bench.Select((b, w) => PlacementHint.On(hosts[w % hosts.Length],
            () => b.PrepareAsync(new ExchangeBenchSetup(map, w, parameters, dtype)))));
        stderr.WriteLine($"  workers on {placed.Distinct().Count()} silos, shards on {Math.Min(map.Shards.Length, hosts.Length)}, " +
                         (dataPlane ? $"chunks between silos over the tensor data plane ({(hosting.Tls ? "mutual TLS" : "plain TCP")})"
                             : "chunks between silos in Orleans messages (SslTraining:DataPlane=false)"));
        await bench[0].InitializeShardsAsync();

        var push = new List<double>();
        var apply = new List<double>();
        var pull = new List<double>();
        long pushBytes = 0, pullBytes = 0;
        for (int round = 0; round <= rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            pushBytes = (await Task.WhenAll(bench.Select(b => b.PushAsync(round)))).Sum();
            double t1 = clock.Elapsed.TotalMilliseconds;
            await Task.WhenAll(shardGrains.Select(g => g.ApplyAsync(new ApplyRequest(round, workers, 0.1, 0.99, 0.01))));
            double t2 = clock.Elapsed.TotalMilliseconds;
            pullBytes = (await Task.WhenAll(bench.Select(b => b.PullAsync(round + 1)))).Sum();
            double t3 = clock.Elapsed.TotalMilliseconds;
            if (round == 0) continue; // warm-up: activation, JIT, first allocations
            push.Add(t1);
            apply.Add(t2 - t1);
            pull.Add(t3 - t2);
            stderr.WriteLine($"  round {round}: push {t1:F0} ms, aggregate {t2 - t1:F0} ms, pull {t3 - t2:F0} ms");
        }
        await Task.WhenAll(bench.Select(b => b.ReleaseAsync()).Concat(shardGrains.Select(g => g.ReleaseAsync())));
        // What the planes themselves say (in-process silos only): TLS is reported as measured, not as asked for.
        var planes = cluster.Planes;
        bool tls = planes.Count > 0 && planes.All(p => p.Authenticated);
        long? planeBytes = planes.Count > 0 ? planes.Sum(p => p.BytesReceived) : null;

        if (pushBytes + pullBytes != bytes)
            throw new InvalidOperationException($"the workers moved {pushBytes + pullBytes} bytes, the baselines {bytes}");
        var exchange = push.Select((p, i) => p + apply[i] + pull[i]).ToList();
        double exchangeMs = Median(exchange), wireMs = Median(push) + Median(pull);
        double memcpyMs = Median(memcpy), tcpMs = Median(tcp);
        var result = new ExchangeResult(parameters, workers, silos, placed.Distinct().Count(), map.Shards.Length, chunkBytes, dtype, rounds, dataPlane,
            pushBytes, pullBytes, bytes,
            exchangeMs, Gbps(bytes, exchangeMs), Median(push), Median(apply), Median(pull), Gbps(bytes, wireMs),
            memcpyMs, Gbps(bytes, memcpyMs), tcpMs, Gbps(bytes, tcpMs),
            exchangeMs / tcpMs, wireMs / tcpMs, exchangeMs / memcpyMs, mirror,
            glooResult?.MedianMs, glooResult is null ? null : Gbps(glooResult.Bytes, glooResult.MedianMs), glooResult?.Threads,
            glooResult is null ? null : exchangeMs / glooResult.MedianMs, tls, hosting.InProcess, planeBytes);
        stderr.WriteLine($"  exchange {exchangeMs:F0} ms ({result.ExchangeGbps:F2} GB/s; moving bytes {wireMs:F0} ms), memcpy {memcpyMs:F0} ms ({result.MemcpyGbps:F2} GB/s), " +
                         $"raw TCP {tcpMs:F0} ms ({result.TcpGbps:F2} GB/s): exchange / TCP = {result.ExchangeOverTcp:F2}" +
                         (glooResult is null ? "" : $"; gloo allreduce {glooResult.MedianMs:F0} ms ({result.GlooGbps:F2} GB/s of the float32 tensor): exchange / gloo = {result.ExchangeOverGloo:F2}"));
        stdout.WriteLine(JsonSerializer.Serialize(result, JsonLines.Options));
        return 0;
    }

    /// <summary>Parameters cut into 1 Mi-element tensors (the shards keep whole tensors, as with a real model).</summary>
    private static ModelLayoutInfo SyntheticLayout(int parameters)
    {
        var tensors = new List<TensorInfo>();
        for (long offset = 0; offset < parameters; offset += TensorSize)
            tensors.Add(new TensorInfo($"t{tensors.Count}", offset, (int)Math.Min(TensorSize, parameters - offset), false, false, false));
        return new ModelLayoutInfo(tensors.ToArray(), [], parameters, 0, 0);
    }

    private static double Memcpy(long bytes)
    {
        var from = GC.AllocateUninitializedArray<byte>(checked((int)Math.Min(bytes, int.MaxValue)));
        var to = GC.AllocateUninitializedArray<byte>(from.Length);
        Array.Fill(from, (byte)1);
        Array.Fill(to, (byte)2); // touch every page before timing
        var clock = Stopwatch.StartNew();
        for (long done = 0; done < bytes; done += from.Length)
            from.AsSpan(0, (int)Math.Min(from.Length, bytes - done)).CopyTo(to);
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>One loopback TCP connection carrying the bytes in 1 MiB writes, until the last byte is read.</summary>
    private static async Task<double> TcpAsync(long bytes)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var sender = new TcpClient { NoDelay = true };
        await sender.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var receiver = await listener.AcceptTcpClientAsync();
        var block = new byte[1 << 20];
        Array.Fill(block, (byte)7);
        var clock = Stopwatch.StartNew();
        var receiving = Task.Run(async () =>
        {
            var buffer = new byte[1 << 20];
            var stream = receiver.GetStream();
            long got = 0;
            while (got < bytes)
            {
                int n = await stream.ReadAsync(buffer);
                if (n == 0) throw new IOException("the loopback connection closed early");
                got += n;
            }
        });
        var output = sender.GetStream();
        for (long sent = 0; sent < bytes; sent += block.Length)
            await output.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, bytes - sent)));
        await receiving;
        return clock.Elapsed.TotalMilliseconds;
    }

    private static string SiloDll(string? given)
    {
        var candidates = given is not null ? [given] : new[]
        {
            Path.Combine(AppContext.BaseDirectory, "..", "silo", "SslOrleans.Silo.dll"),
            Path.Combine("artifacts", "silo", "SslOrleans.Silo.dll"),
        };
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"silo: no silo host at {string.Join(" or ", candidates.Select(Path.GetFullPath))}; `make build` publishes it to artifacts/silo (or pass --silo PATH)");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static double Gbps(long bytes, double ms) => bytes / (ms / 1000) / 1e9;

    public sealed record ExchangeResult(
        long Params, int Workers, int Silos, int WorkerSilos, int Shards, int ChunkBytes, string GradientDtype, int Rounds, bool DataPlane,
        long PushBytes, long PullBytes, long Bytes,
        double ExchangeMs, double ExchangeGbps, double PushMs, double AggregateMs, double PullMs, double WireGbps,
        double MemcpyMs, double MemcpyGbps, double TcpMs, double TcpGbps,
        double ExchangeOverTcp, double WireOverTcp, double ExchangeOverMemcpy, bool MirrorShards,
        double? GlooMs, double? GlooGbps, int? GlooThreads, double? ExchangeOverGloo, bool Tls, bool InProcess, long? PlaneBytesReceived);

    /// <summary>Where the silos run (processes, or this process) and whether their data plane is mutual TLS.</summary>
    private sealed record SiloHosting(bool InProcess, bool Tls);
}
