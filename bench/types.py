#!/usr/bin/env python3
"""Side-by-side throughput of the set, sorted-set, bitmap, HyperLogLog and
geo commands: ferrodis against redis-server, with redis-benchmark.

    python3 bench/types.py [--rounds 3] [--requests 200000]
                           [--pipelined-requests 1000000] [--no-build]
                           [--only SADD,ZRANK] [--peer NAME=PATH]

The same shape as bench/compare.py (whose redis-benchmark runner and
CPU accounting it uses): 50 clients, unpipelined and -P 16, every server
back to back in each round with the order alternating, the ratio per
command the median of the rounds' ratios, and the geometric mean. Keys a
command reads are loaded once, identically on every server (a 1000-member
set and sorted set, two pairs of 1000-member keys half overlapping for
SINTER and ZUNIONSTORE, a 16 KB bitmap, a HyperLogLog of 10k elements);
SPOP and ZPOPMIN get a fresh key with one member per request before each
run, so every pop pops. A command a server lacks is reported as failed.

Standard library only; the servers are stopped by pid on exit.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import compare  # noqa: E402

# redis-benchmark writes __rand_int__ as 12 digits: members read back by a
# random name are loaded with the same padding.
MEMBER = "m:%012d"
BIG = 1000


def refill_set(port, n):
    common.pipeline_load(port, (common.encode("SADD", "popset", MEMBER % i)
                                for i in range(n)))


def refill_zset(port, n):
    common.pipeline_load(port, (common.encode("ZADD", "popz", i, MEMBER % i)
                                for i in range(n)))


# (label, redis-benchmark arguments, per-run setup or None)
CASES = [
    ("SADD", ["-r", "100000", "SADD", "myset", "element:__rand_int__"], None),
    ("SISMEMBER", ["-r", str(2 * BIG), "SISMEMBER", "bigset", "m:__rand_int__"], None),
    ("SPOP", ["SPOP", "popset"], refill_set),
    ("ZADD", ["-r", "100000", "ZADD", "myzset", "__rand_int__", "element:__rand_int__"], None),
    ("ZINCRBY", ["-r", str(BIG), "ZINCRBY", "bigz", "1", "m:__rand_int__"], None),
    ("ZRANK", ["-r", str(BIG), "ZRANK", "bigz", "m:__rand_int__"], None),
    ("ZRANGEBYSCORE", ["ZRANGEBYSCORE", "bigz", "100", "109"], None),
    ("ZPOPMIN", ["ZPOPMIN", "popz"], refill_zset),
    ("PFADD", ["-r", "1000000", "PFADD", "hll", "e:__rand_int__"], None),
    ("PFCOUNT", ["PFCOUNT", "hll"], None),
    # Offsets may not have leading zeros, so the random part is the key.
    ("SETBIT", ["-r", "100000", "SETBIT", "bm:__rand_int__", "1000", "1"], None),
    ("BITCOUNT", ["BITCOUNT", "bits"], None),
    ("GEOSEARCH", ["GEOSEARCH", "geo", "FROMLONLAT", "13.4", "52.5",
                   "BYRADIUS", "50", "km", "ASC", "COUNT", "10"], None),
    ("SINTER", ["SINTER", "s1k:a", "s1k:b"], None),
    ("ZUNIONSTORE", ["ZUNIONSTORE", "zdst", "2", "z1k:a", "z1k:b"], None),
]


def preload(port):
    """The keys the read commands use, the same on every server."""
    reqs = []
    for i in range(BIG):
        reqs.append(common.encode("SADD", "bigset", MEMBER % i))
        reqs.append(common.encode("ZADD", "bigz", i, MEMBER % i))
        # Half of each pair is shared.
        reqs.append(common.encode("SADD", "s1k:a", MEMBER % i))
        reqs.append(common.encode("SADD", "s1k:b", MEMBER % (i + BIG // 2)))
        reqs.append(common.encode("ZADD", "z1k:a", i, MEMBER % i))
        reqs.append(common.encode("ZADD", "z1k:b", i, MEMBER % (i + BIG // 2)))
    for i in range(10_000):
        reqs.append(common.encode("PFADD", "hll", f"e:{i}"))
    # A 16 KB bitmap with a fixed pattern.
    reqs.append(common.encode("SET", "bits", bytes((i * 37) & 0xFF for i in range(16384))))
    common.pipeline_load(port, reqs)
    # 1000 places around Berlin, on a 0.02-degree grid; a server without
    # geo commands refuses them, and its GEOSEARCH row reads "failed".
    places = []
    for i in range(BIG):
        lon, lat = 13.0 + (i % 40) * 0.02, 52.3 + (i // 40) * 0.02
        places.append(common.encode("GEOADD", "geo", f"{lon:.2f}", f"{lat:.2f}", f"p{i}"))
    try:
        common.pipeline_load(port, places)
    except RuntimeError as e:
        common.log(f"  geo data not loaded on port {port}: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--pipelined-requests", type=int, default=1_000_000)
    ap.add_argument("--modes", default="1,16")
    ap.add_argument("--only", help="comma-separated command labels")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=PATH")
    opts = ap.parse_args()
    if not opts.no_build:
        common.build_release()
    cases = CASES
    if opts.only:
        wanted = {c.upper() for c in opts.only.split(",")}
        cases = [c for c in CASES if c[0] in wanted]
    modes = [int(m) for m in opts.modes.split(",")]
    peers = [p.split("=", 1) for p in opts.peer]
    others = ["redis"] + [name for name, _ in peers]
    names = ["ferrodis"] + others
    started = time.time()
    servers = {}
    # results[mode][label][server] = [(ops/s or None, CPU µs per request)]
    results = {m: {label: {n: [] for n in names} for label, _, _ in cases} for m in modes}
    try:
        servers["ferrodis"] = common.Server("ferrodis")
        servers["redis"] = common.Server("redis")
        for name, path in peers:
            servers[name] = common.Server("redis", binary=path)
        for s in servers.values():
            preload(s.port)
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
                        rps = compare.run_benchmark(server.port, args, opts.clients, n, mode)
                        cpu_us = (common.cpu_seconds(server.pid) - before) * 1e6 / n
                        results[mode][label][name].append((rps, cpu_us))
                    common.log(f"P={mode} round {rnd + 1} {label}: " + ", ".join(
                        f"{name} {results[mode][label][name][-1][0]}" for name in names))
    finally:
        for s in servers.values():
            s.stop()

    print(f"\nredis-benchmark, {opts.clients} clients, {opts.rounds} rounds: median "
          f"ops/s, the median of the rounds' ferrodis/other ratios, and server "
          f"CPU (user + system) per request in µs")
    for mode in modes:
        title = "unpipelined" if mode == 1 else f"pipelined -P {mode}"
        print(f"\n== {title} ==")
        header = f"{'command':<14} {'ferrodis':>10}"
        for other in others:
            header += f" {other:>10} {'ratio':>7}"
        print(header + f" {'cpu/req':>8}" + "".join(f" {o + ' cpu':>10} {'ratio':>6}"
                                                    for o in others))
        ratios = {o: [] for o in others}
        for label, _, _ in cases:
            runs = results[mode][label]
            if any(r is None for name in names for r, _ in runs[name]):
                print(f"{label:<14} {'failed':>10}")
                continue
            line = f"{label:<14} {statistics.median(r for r, _ in runs['ferrodis']):>10.0f}"
            cpu = ""
            for other in others:
                ratio = statistics.median(a[0] / b[0] for a, b in
                                          zip(runs["ferrodis"], runs[other]))
                ratios[other].append(ratio)
                flag = "<" if ratio < 0.9 else " "
                line += (f" {statistics.median(r for r, _ in runs[other]):>10.0f}"
                         f" {ratio:>6.2f}x{flag}")
                cpu_ratio = statistics.median(a[1] / max(b[1], 1e-9) for a, b in
                                              zip(runs["ferrodis"], runs[other]))
                cpu += (f" {statistics.median(c for _, c in runs[other]):>10.2f}"
                        f" {cpu_ratio:>5.2f}x")
            line += f" {statistics.median(c for _, c in runs['ferrodis']):>8.2f}" + cpu
            print(line)
        line = f"{'geomean':<14} {'':>10}"
        for other in others:
            rs = ratios[other]
            line += f" {'':>10} {compare.geomean(rs) if rs else 0:>6.2f}x "
            line += f" (lowest {min(rs) if rs else 0:.2f}x)"
        print(line + f"  ({len(ratios['redis'])} commands)")
    print(f"\n(elapsed {time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
