#!/usr/bin/env python3
"""EVALSHA: ferrodis against redis-server, side by side in one run.

Three scripts, each loaded with SCRIPT LOAD and then run by redis-benchmark
as EVALSHA over random keys (`-r`), 50 clients, unpipelined and pipelined
(`-P 16`):

* a rate limiter: INCR one declared key, EXPIRE it on its first hit;
* ten declared keys: INCR each of KEYS[1..10];
* ten undeclared keys: INCR ten keys the script builds from ARGV[1].

Per case and server: requests per second (wall clock of the
redis-benchmark run) and the server's CPU time (user + system, from /proc)
per request; ratios ferrodis / Redis, medians over `--rounds`.

Servers listen on 127.0.0.1 on ports from FERRODIS_BENCH_PORTS when set
and are stopped by the pid this script started. Standard library and
redis-benchmark only.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SCRIPTS = {
    "rate limiter (INCR + EXPIRE, 1 key)": (
        "local c = redis.call('INCR', KEYS[1]) "
        "if c == 1 then redis.call('EXPIRE', KEYS[1], 60) end return c",
        ["1", "rl:__rand_int__"],
    ),
    "10 declared keys": (
        "for i = 1, #KEYS do redis.call('INCR', KEYS[i]) end return #KEYS",
        ["10"] + [f"d{i}:__rand_int__" for i in range(10)],
    ),
    "10 undeclared keys": (
        "for i = 1, 10 do redis.call('INCR', 'u' .. i .. ':' .. ARGV[1]) end return 10",
        ["0", "__rand_int__"],
    ),
}


def run_case(server, sha, args, requests, pipeline):
    """Runs one redis-benchmark load; returns (requests/s, server CPU µs per
    request)."""
    cmd = ["redis-benchmark", "-p", str(server.port), "-c", "50", "-n", str(requests),
           "-r", "10000", "-P", str(pipeline), "-q", "EVALSHA", sha] + args
    cpu0 = common.cpu_seconds(server.pid)
    start = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    took = time.time() - start
    cpu = common.cpu_seconds(server.pid) - cpu0
    if "requests per second" not in out.stdout:
        raise RuntimeError(f"redis-benchmark failed: {out.stdout} {out.stderr}")
    return requests / took, cpu / requests * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        common.build_release()
    servers = {"ferrodis": common.Server("ferrodis"), "redis": common.Server("redis")}
    results = {}
    try:
        shas = {}
        for kind, s in servers.items():
            c = common.Client(s.port)
            for name, (body, _) in SCRIPTS.items():
                sha = c.command(b"SCRIPT", b"LOAD", body.encode())
                shas[(kind, name)] = sha.decode()
            c.close()
        for rnd in range(args.rounds):
            for name, (_, bargs) in SCRIPTS.items():
                for pipeline in (1, 16):
                    row = {}
                    for kind, s in servers.items():
                        row[kind] = run_case(s, shas[(kind, name)], bargs,
                                             args.requests, pipeline)
                        common.log(f"round {rnd + 1} {name} -P {pipeline} {kind}: "
                                   f"{row[kind][0]:,.0f} req/s, {row[kind][1]:.2f} µs CPU/req")
                    results.setdefault((name, pipeline), []).append(row)
    finally:
        for s in servers.values():
            s.stop()

    print(f"| EVALSHA, 50 clients, {args.requests:,} requests, median of {args.rounds} "
          f"| ferrodis req/s | Redis req/s | ratio | CPU/req ferrodis | Redis | ratio |")
    print("|---|---|---|---|---|---|---|")
    for (name, pipeline), rows in results.items():
        f_rate = statistics.median(r["ferrodis"][0] for r in rows)
        r_rate = statistics.median(r["redis"][0] for r in rows)
        f_cpu = statistics.median(r["ferrodis"][1] for r in rows)
        r_cpu = statistics.median(r["redis"][1] for r in rows)
        rate_ratio = statistics.median(r["ferrodis"][0] / r["redis"][0] for r in rows)
        cpu_ratio = statistics.median(r["ferrodis"][1] / r["redis"][1] for r in rows)
        label = f"{name}, {'unpipelined' if pipeline == 1 else f'-P {pipeline}'}"
        print(f"| {label} | {f_rate:,.0f} | {r_rate:,.0f} | **{rate_ratio:.2f}** "
              f"| {f_cpu:.2f} µs | {r_cpu:.2f} µs | {cpu_ratio:.2f} |")


if __name__ == "__main__":
    main()
