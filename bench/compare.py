#!/usr/bin/env python3
"""Side-by-side throughput of ferrodis and redis-server with redis-benchmark.

    python3 bench/compare.py [--rounds 5] [--requests 200000]
                             [--pipelined-requests 2000000] [--no-build]
                             [--memory]

Builds ferrodis in release, starts it and Debian's redis-server
(`--save "" --appendonly no`) on free loopback ports, and for each mode
(50 clients unpipelined, and -P 16) runs every command against both servers,
alternating which goes first, for several rounds. A last, server-bound run
(LPOS over 8 lists of 100k elements) shows how many cores each server puts
to work when the client leaves one idle. Prints the median ops/s
of each side, the ferrodis/Redis ratio per command (the median of the
rounds' ratios) and the geometric mean of the ratios per mode, and the
same for each server's CPU time (user + system, from /proc) per request.
`--peer valkey=PATH` runs another server (a Valkey built by hand, say) in
the same rounds. `--memory` then runs bench/memory.py.

Standard library only; the servers are stopped by pid on exit.
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# (label, redis-benchmark arguments): built-in tests use -t, the hash reads
# run a custom command line against a preloaded 5-field hash.
COMMANDS = [
    ("SET", ["-t", "set"]),
    ("GET", ["-t", "get"]),
    ("INCR", ["-t", "incr"]),
    ("LPUSH", ["-t", "lpush"]),
    ("RPUSH", ["-t", "rpush"]),
    ("LPOP", ["-t", "lpop"]),
    ("RPOP", ["-t", "rpop"]),
    ("HSET", ["-t", "hset"]),
    ("HGET", ["HGET", "h:1", "f1"]),
    ("HGETALL", ["HGETALL", "h:1"]),
]

# A server-bound load: each LPOS scans one of 8 lists of 100k elements and
# replies with a null, so the client is mostly idle and a server that can
# use the second core should. (Over a single key the two cores would only
# take turns on its lock.) Reported with the CPU each server used.
BIGLISTS = 8
BIGLIST_LEN = 100_000
SERVER_BOUND = ("LPOS", ["-r", str(BIGLISTS), "LPOS", "biglist:__rand_int__", "nomatch"])

PRELOAD = [b"HSET", b"h:1", b"f1", b"v1", b"f2", b"v2", b"f3", b"v3",
           b"f4", b"v4", b"f5", b"v5"]


def run_benchmark(port, args, clients, requests, pipeline):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
           "-c", str(clients), "-n", str(requests), "-P", str(pipeline),
           "--csv"] + args
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        # A command the server lacks (or any error reply) stops redis-benchmark.
        common.log(f"  redis-benchmark failed on port {port}: "
                   f"{proc.stderr.strip().splitlines()[-1:]}")
        return None
    out = proc.stdout
    # CSV: a header line, then "name","rps",...
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) >= 2 and cells[0] != "test":
            try:
                return float(cells[1])
            except ValueError:
                continue
    raise RuntimeError(f"no result in redis-benchmark output: {out!r}")


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else 0.0


def measure_rounds(servers, names, cases, modes, opts, clients):
    """Runs every case on every server for `opts.rounds` rounds per mode
    (pipeline depth), servers back to back with the order alternating.
    `cases` are (label, redis-benchmark arguments, setup or None), setup
    being called with a server's port and the request count before each
    run. Returns results[mode][label][server] = [(ops/s or None, server
    CPU µs per request)], one pair per round."""
    results = {m: {label: {name: [] for name in names} for label, _, _ in cases}
               for m in modes}
    for mode in modes:
        n = opts.requests if mode == 1 else opts.pipelined_requests
        for rnd in range(opts.rounds):
            order = names if rnd % 2 == 0 else names[::-1]
            for label, args, setup in cases:
                for name in order:
                    server = servers[name]
                    if setup:
                        setup(server.port, n)
                    before = common.cpu_seconds(server.pid)
                    rps = run_benchmark(server.port, args, clients, n, mode)
                    cpu_us = (common.cpu_seconds(server.pid) - before) * 1e6 / n
                    results[mode][label][name].append((rps, cpu_us))
                common.log(f"P={mode} round {rnd + 1} {label}: " + ", ".join(
                    f"{name} {results[mode][label][name][-1][0]}" for name in names))
    return results


def print_tables(results, names, labels, modes, opts):
    """One table per mode: median ops/s, the median of the rounds'
    ferrodis/other ratios (flagged under 0.9), server CPU per request and
    its ratio, and the geometric means (with the lowest ratio)."""
    others = names[1:]
    width = max(10, max(len(label) for label in labels))
    print()
    print(f"redis-benchmark, {opts.clients} clients, {opts.rounds} rounds: median "
          f"ops/s, and the median of the rounds' ferrodis/other ratios; server "
          f"CPU (user + system) per request in µs")
    for mode in modes:
        print()
        title = "unpipelined" if mode == 1 else f"pipelined -P {mode}"
        print(f"== {title} ==")
        header = f"{'command':<{width}} {'ferrodis':>10}"
        for other in others:
            header += f" {other:>10} {'ratio':>7}"
        header += f" {'cpu/req':>8}" + "".join(f" {o + ' cpu':>10} {'ratio':>6}" for o in others)
        print(header)
        ratios = {o: [] for o in others}
        cpu_ratios = {o: [] for o in others}
        for label in labels:
            runs = results[mode][label]
            if any(r is None for name in names for r, _ in runs[name]):
                print(f"{label:<{width}} {'failed':>10}")
                continue
            line = f"{label:<{width}} {statistics.median(r for r, _ in runs['ferrodis']):>10.0f}"
            for other in others:
                # The ratio is the median of each round's ratio: the runs of
                # a round are back to back, so a slow spell of the machine
                # (which can last many seconds) weighs on both sides of it.
                ratio = statistics.median(a[0] / b[0] for a, b in
                                          zip(runs["ferrodis"], runs[other]))
                ratios[other].append(ratio)
                flag = "<" if ratio < 0.9 else " "
                line += (f" {statistics.median(r for r, _ in runs[other]):>10.0f}"
                         f" {ratio:>6.2f}x{flag}")
            line += f" {statistics.median(c for _, c in runs['ferrodis']):>8.2f}"
            for other in others:
                cpu_ratio = statistics.median(a[1] / max(b[1], 1e-9) for a, b in
                                              zip(runs["ferrodis"], runs[other]))
                cpu_ratios[other].append(cpu_ratio)
                line += (f" {statistics.median(c for _, c in runs[other]):>10.2f}"
                         f" {cpu_ratio:>5.2f}x")
            print(line)
        line = f"{'geomean':<{width}} {'':>10}"
        for other in others:
            line += f" {'':>10} {geomean(ratios[other]):>6.2f}x "
        line += f" {'':>8}" + "".join(f" {'':>10} {geomean(cpu_ratios[o]):>5.2f}x"
                                      for o in others)
        lowest = min(ratios["redis"], default=0)
        print(line + f"  ({len(ratios['redis'])} commands, lowest {lowest:.2f}x)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=200_000,
                    help="requests per unpipelined run")
    ap.add_argument("--pipelined-requests", type=int, default=2_000_000,
                    help="requests per -P 16 run")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", help="comma-separated command labels")
    ap.add_argument("--modes", default="1,16", help="pipeline depths")
    ap.add_argument("--server-bound-requests", type=int, default=10_000,
                    help="requests per server-bound (LPOS) run; 0 skips it")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=PATH",
                    help="another Redis-compatible server to run in the same "
                         "rounds (e.g. valkey=/path/to/valkey-server)")
    ap.add_argument("--memory", action="store_true",
                    help="also run the memory comparison (bench/memory.py)")
    opts = ap.parse_args()

    if not opts.no_build:
        common.build_release()
    commands = COMMANDS
    if opts.only:
        wanted = {c.upper() for c in opts.only.split(",")}
        commands = [c for c in COMMANDS if c[0] in wanted]
    modes = [int(m) for m in opts.modes.split(",")]
    peers = [p.split("=", 1) for p in opts.peer]
    others = ["redis"] + [name for name, _ in peers]
    names = ["ferrodis"] + others

    servers = {}
    started = time.time()
    try:
        servers["ferrodis"] = common.Server("ferrodis")
        servers["redis"] = common.Server("redis")
        for name, path in peers:
            servers[name] = common.Server("redis", binary=path)
        for s in servers.values():
            c = common.Client(s.port)
            c.command(*PRELOAD)
            for k in range(BIGLISTS if opts.server_bound_requests else 0):
                # redis-benchmark writes __rand_int__ as 12 digits.
                key = b"biglist:%012d" % k
                for start in range(0, BIGLIST_LEN, 1000):
                    c.command(b"RPUSH", key, *[b"element-%d" % i
                                               for i in range(start, start + 1000)])
            c.close()
        results = measure_rounds(servers, names, [(label, args, None) for label, args in commands],
                                 modes, opts, opts.clients)
        # bound[server] = [(ops/s, cores used)]
        bound = {name: [] for name in names}
        for rnd in range(opts.rounds if opts.server_bound_requests else 0):
            order = names if rnd % 2 == 0 else names[::-1]
            for name in order:
                before, t0 = common.cpu_seconds(servers[name].proc.pid), time.time()
                rps = run_benchmark(servers[name].port, SERVER_BOUND[1],
                                    opts.clients, opts.server_bound_requests, 1)
                used = (common.cpu_seconds(servers[name].proc.pid) - before) / (time.time() - t0)
                bound[name].append((rps, used))
                common.log(f"server-bound round {rnd + 1} {name}: {rps} ops/s, "
                           f"{used:.2f} cores")
    finally:
        for s in servers.values():
            s.stop()

    print_tables(results, names, [label for label, _ in commands], modes, opts)
    if bound["ferrodis"] and None not in [r for name in names for r, _ in bound[name]]:
        print()
        print(f"== server-bound: LPOS over {BIGLISTS} lists of {BIGLIST_LEN} "
              f"elements, {opts.clients} clients ==")
        print(f"{'server':<10} {'ops/s':>12} {'cores used':>11}")
        for name in names:
            rps = statistics.median(r for r, _ in bound[name])
            cores = statistics.median(c for _, c in bound[name])
            print(f"{name:<10} {rps:>12.0f} {cores:>11.2f}")
        f = statistics.median(r for r, _ in bound["ferrodis"])
        for other in others:
            r = statistics.median(r for r, _ in bound[other])
            print(f"{'vs ' + other:<10} {f / r:>11.2f}x")
    print(f"\n(elapsed {time.time() - started:.0f} s)")
    if opts.memory:
        import memory
        memory.main([])


if __name__ == "__main__":
    main()
