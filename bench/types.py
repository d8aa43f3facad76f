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
SINTER and ZUNIONSTORE, a 16 KB bitmap, a HyperLogLog of 10k elements,
1000 places around Berlin for GEOSEARCH);
SPOP and ZPOPMIN get a fresh key with one member per request before each
run, so every pop pops. A command a server lacks is reported as failed.

Standard library only; the servers are stopped by pid on exit.
"""

import argparse
import os
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
    # Random places in a square degree around Berlin (each __rand_int__ is
    # twelve digits, so "13.<digits>" is a longitude there).
    ("GEOADD", ["-r", "100000", "GEOADD", "mygeo", "13.__rand_int__", "52.__rand_int__",
                "p:__rand_int__"], None),
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
    names = ["ferrodis", "redis"] + [name for name, _ in peers]
    started = time.time()
    servers = {}
    try:
        servers["ferrodis"] = common.Server("ferrodis")
        servers["redis"] = common.Server("redis")
        for name, path in peers:
            servers[name] = common.Server("redis", binary=path)
        for s in servers.values():
            preload(s.port)
        results = compare.measure_rounds(servers, names, cases, modes, opts, opts.clients)
    finally:
        for s in servers.values():
            s.stop()
    compare.print_tables(results, names, [label for label, _, _ in cases], modes, opts)
    print(f"\n(elapsed {time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
