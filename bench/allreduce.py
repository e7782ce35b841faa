#!/usr/bin/python3
"""gloo's allreduce of one float32 tensor between W processes on loopback: the yardstick beside `sslo bench exchange`.

Run it with Debian's Python (/usr/bin/python3, python3-torch: torch.distributed with the gloo backend); a pyenv or
virtualenv python3 first on PATH usually has no torch.

    /usr/bin/python3 bench/allreduce.py --elements 11200000 --workers 2 --rounds 10

W processes (torch.multiprocessing, spawn) join a process group over TCP on 127.0.0.1 at a free port; each holds a
float32 tensor of N elements and allreduces it (SUM): one warm-up round, then R timed rounds, each after a barrier.
A round's time is the slowest rank's (every rank times its own allreduce; rank 0 gathers them); the result is the
median over rounds, in ms, as one JSON line on stdout.

Every process runs torch.set_num_threads(1): on a machine with few cores (the project's VM has 2), W processes
each with one intra-op thread per core would oversubscribe it; gloo's reduction runs on the calling thread anyway.
--threads changes it.
"""
import argparse
import json
import os
import socket
import statistics
import sys
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_main(rank, workers, elements, rounds, threads, port, results):
    import torch
    import torch.distributed as dist

    torch.set_num_threads(threads)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=workers)
    try:
        tensor = torch.full((elements,), float(rank + 1), dtype=torch.float32)
        times = []
        for r in range(rounds + 1):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
            ms = (time.perf_counter() - start) * 1000
            if r == 0 and tensor[0].item() != workers * (workers + 1) / 2:
                raise RuntimeError(f"rank {rank}: the sum is {tensor[0].item()}, not {workers * (workers + 1) / 2}")
            if r > 0:  # round 0 is the warm-up: connections, first allocations
                times.append(ms)
        # Each rank's times to rank 0, which takes the slowest rank per round.
        mine = torch.tensor(times, dtype=torch.float64)
        gathered = [torch.zeros_like(mine) for _ in range(workers)] if rank == 0 else None
        dist.gather(mine, gathered, dst=0)
        if rank == 0:
            slowest = torch.stack(gathered).max(dim=0).values.tolist()
            results.put(slowest)
    finally:
        dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elements", type=int, required=True, help="float32 elements of the tensor (N)")
    parser.add_argument("--workers", type=int, default=2, help="processes (W)")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds after one warm-up (R)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads in every process (default 1)")
    args = parser.parse_args()
    if args.elements < 1 or args.workers < 1 or args.rounds < 1 or args.threads < 1:
        parser.error("--elements, --workers, --rounds and --threads want positive integers")
    try:
        import torch
        import torch.distributed as dist
        import torch.multiprocessing as mp
    except ImportError as e:
        print(f"allreduce.py: {sys.executable} has no torch ({e}); Debian's python3-torch is /usr/bin/python3", file=sys.stderr)
        sys.exit(3)
    if not dist.is_available() or not dist.is_gloo_available():
        print(f"allreduce.py: torch {torch.__version__} in {sys.executable} has no torch.distributed with gloo", file=sys.stderr)
        sys.exit(3)

    ctx = mp.get_context("spawn")
    results = ctx.SimpleQueue()
    port = free_port()
    procs = [ctx.Process(target=rank_main, args=(r, args.workers, args.elements, args.rounds, args.threads, port, results))
             for r in range(args.workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed or results.empty():
        print(f"allreduce.py: a rank failed (exit codes {[p.exitcode for p in procs]})", file=sys.stderr)
        sys.exit(1)
    slowest = results.get()
    median = statistics.median(slowest)
    nbytes = args.elements * 4
    print(json.dumps({
        "backend": "gloo", "torch": torch.__version__, "elements": args.elements, "bytes": nbytes,
        "workers": args.workers, "rounds": args.rounds, "threads": args.threads,
        "median_ms": median, "min_ms": min(slowest), "max_ms": max(slowest), "rounds_ms": slowest,
    }))


if __name__ == "__main__":
    main()
