#!/usr/bin/env python3
"""Memory use of ferrodis vs redis-server for five datasets.

    python3 bench/memory.py [--scale 1.0] [--no-build] [--only WORD]
                            [--peer NAME=PATH ...]

Each dataset is loaded into a fresh server of each kind by a pipelining
raw-socket client, then resident memory (VmRSS from /proc/PID/status) and
INFO's used_memory are compared:

* hashes:  1M `user:N` hashes with 5 short fields (name email age city joined)
* strings: 1M `key:N` strings with 32-byte values
* lists:   10k `list:N` lists of 100 items
* zsets:   1M `zset:N` sorted sets of 8 members (listpack), and 1k
           `bigzset:N` sorted sets of 1000 members (Redis's skiplist)
* sets:    1M `set:N` sets of 8 small integers (intsets in both servers)
* sets:    1M `tags:N` sets of 8 short strings (hash tables in Redis 7.0,
  listpacks in ferrodis as in Redis 7.2)

`--scale` multiplies the key counts (e.g. 0.1 for a quick run); `--only`
keeps the datasets whose label contains WORD; `--peer` loads each dataset
into another Redis-compatible server too (e.g.
`valkey-8.0=/path/to/valkey-server`) and adds its RSS and ferrodis's
ratio to it as columns. `FERRODIS_BENCH_PORTS=LOW-HIGH` keeps the servers'
ports in a range.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def hashes(n):
    cities = [b"Paris", b"Berlin", b"Madrid", b"Rome", b"Oslo", b"Lima"]
    for i in range(n):
        yield common.encode(
            b"HSET", b"user:%d" % i,
            b"name", b"user%d" % i,
            b"email", b"user%d@example.com" % i,
            b"age", b"%d" % (18 + i % 60),
            b"city", cities[i % len(cities)],
            b"joined", b"2024-%02d-%02d" % (1 + i % 12, 1 + i % 28))


def strings(n):
    for i in range(n):
        yield common.encode(b"SET", b"key:%d" % i, (b"%032d" % i)[-32:])


def lists(n, items=100):
    for i in range(n):
        key = b"list:%d" % i
        # One RPUSH of 100 items per list.
        yield common.encode(b"RPUSH", key,
                            *[b"item-%d-%d" % (i, j) for j in range(items)])


def zsets(n, members):
    for i in range(n):
        args = []
        for j in range(members):
            # Scores in no particular order, some fractional.
            args += [b"%d.%d" % ((j * 7919 + i) % 10007, j % 4), b"member:%d" % j]
        yield common.encode(b"ZADD", b"zset:%d" % i, *args)


def int_sets(n):
    for i in range(n):
        yield common.encode(b"SADD", b"set:%d" % i,
                            *[b"%d" % ((i % 1000) * 8 + j) for j in range(8)])


def string_sets(n):
    for i in range(n):
        yield common.encode(b"SADD", b"tags:%d" % i,
                            *[b"tag:%d" % ((i * 8 + j) % 100_000) for j in range(8)])


DATASETS = [
    ("1M hashes x5 fields", lambda s: hashes(int(1_000_000 * s))),
    ("1M strings 32B", lambda s: strings(int(1_000_000 * s))),
    ("10k lists x100", lambda s: lists(int(10_000 * s))),
    ("1M zsets x8", lambda s: zsets(int(1_000_000 * s), 8)),
    ("1k zsets x1000", lambda s: zsets(int(1_000 * s), 1000)),
    ("1M sets x8 ints", lambda s: int_sets(int(1_000_000 * s))),
    ("1M sets x8 strings", lambda s: string_sets(int(1_000_000 * s))),
]


def measure(kind, gen, binary=None):
    server = common.Server(kind, binary=binary)
    try:
        base_rss = server.rss_kb()
        t0 = time.time()
        common.pipeline_load(server.port, gen)
        load_s = time.time() - t0
        time.sleep(0.5)
        info = server.info("memory")
        used = info.get("used_memory")
        return {
            "rss_kb": server.rss_kb(),
            "base_rss_kb": base_rss,
            "used_memory": int(used) if used and used.isdigit() else None,
            "dbsize": common_dbsize(server.port),
            "load_s": load_s,
        }
    finally:
        server.stop()


def common_dbsize(port):
    c = common.Client(port)
    try:
        return c.command(b"DBSIZE")
    finally:
        c.close()


def mib(kb):
    return f"{kb / 1024:.1f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", default="", help="datasets whose label contains this")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=PATH",
                    help="another Redis-compatible server to load each dataset "
                         "into (e.g. valkey-8.0=/path/to/valkey-server)")
    opts = ap.parse_args(argv)
    if argv is None and not opts.no_build:
        common.build_release()
    peers = [p.split("=", 1) for p in opts.peer]
    servers = [("ferrodis", "ferrodis", None), ("redis", "redis", None)]
    servers += [(name, "redis", path) for name, path in peers]
    rows = []
    for label, make in DATASETS:
        if opts.only not in label:
            continue
        res = {}
        for name, kind, binary in servers:
            common.log(f"loading {label} into {name}...")
            res[name] = measure(kind, make(opts.scale), binary)
            common.log(f"  {name}: dbsize {res[name]['dbsize']}, "
                       f"rss {mib(res[name]['rss_kb'])} MiB, "
                       f"load {res[name]['load_s']:.1f} s")
        rows.append((label, res))

    print()
    print("Memory after loading (fresh server per dataset; MiB)")
    head = (f"{'dataset':<22} {'ferrodis RSS':>12} {'redis RSS':>10} {'ratio':>6}"
            f"   {'ferrodis used':>13} {'redis used':>10} {'ratio':>6}")
    for name, _ in peers:
        head += f"   {name + ' RSS':>16} {'ratio':>6}"
    print(head)
    for label, res in rows:
        f, r = res["ferrodis"], res["redis"]
        rss_ratio = f["rss_kb"] / r["rss_kb"] if r["rss_kb"] else 0
        if f["used_memory"] is not None and r["used_memory"]:
            fu = f"{f['used_memory'] / 2**20:.1f}"
            used_ratio = f"{f['used_memory'] / r['used_memory']:.2f}x"
        else:
            fu, used_ratio = "n/a", "n/a"
        ru = f"{r['used_memory'] / 2**20:.1f}" if r["used_memory"] else "n/a"
        line = (f"{label:<22} {mib(f['rss_kb']):>12} {mib(r['rss_kb']):>10} "
                f"{rss_ratio:>5.2f}x   {fu:>13} {ru:>10} {used_ratio:>6}")
        for name, _ in peers:
            p = res[name]
            ratio = f["rss_kb"] / p["rss_kb"] if p["rss_kb"] else 0
            line += f"   {mib(p['rss_kb']):>16} {ratio:>5.2f}x"
        print(line)
        for name in res:
            if res[name]["dbsize"] != f["dbsize"]:
                print(f"  WARNING: dbsize differs: ferrodis {f['dbsize']} "
                      f"{name} {res[name]['dbsize']}")


if __name__ == "__main__":
    main()
