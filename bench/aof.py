#!/usr/bin/env python3
"""Write throughput with the append-only file, ferrodis vs redis-server.

    python3 bench/aof.py [--rounds 3] [--requests 300000] [--clients 50]
                         [--tests set,incr,lpush,hset] [--random-keys 100000]
                         [--quick] [--no-build]

Builds ferrodis in release and runs redis-benchmark (50 clients,
unpipelined, `-r 100000` random keys) with write commands against six
configurations of the two servers:

    ferrodis  appendonly no                         (in-memory baseline)
    ferrodis  appendonly yes, appendfsync everysec
    ferrodis  appendonly yes, appendfsync always
    redis     the same three

Every run gets a fresh server on a free loopback port and its own directory
(`--save ""`, automatic AOF rewrites off so that none lands in the middle of
a run), stopped by pid afterwards. In each round, for each test, the six
runs go back to back in an order where every compared pair is adjacent
(reversed every other round):

    ferrodis-no, ferrodis-everysec, redis-everysec, redis-no,
    redis-always, ferrodis-always

so a slow spell of the machine weighs on both sides of a ratio. Prints the
median ops/s of each configuration, and per test and as a geometric mean
the median of the rounds' ratios:

    ferrodis everysec / ferrodis in-memory   (target >= 0.9)
    ferrodis always   / redis always         (target >= 1.0)
    ferrodis everysec / redis everysec
    redis everysec    / redis in-memory      (for reference)

Then, for each AOF run, the size of `<dir>/appendonlydir` once the server
has stopped writing, bytes per operation and the number of fsyncs, counted
as flush requests completed by the disk holding the directory
(/sys/dev/block/MAJ:MIN/stat; the counter is for the whole disk, so other
writers on the machine add to it). Before each `always` run, 200 iterations
of a 64-byte write plus os.fdatasync on a file in the server's directory
time the disk's fsync, which bounds what `always` can do; its median is
printed with the flushes each fdatasync costs.

The servers run a private copy of target/release/ferrodis-server taken
after the build, so a rebuild during the run does not change what is
measured (the header gives the binary's build time).

`--quick` runs one round of 50000 requests per test (about half a minute);
the default (3 rounds of 300000) takes about 5 minutes on a 2-core machine.
Standard library only.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from compare import geomean, run_benchmark  # noqa: E402

AOF_OFF = ["--appendonly", "no"]
AOF_ARGS = ["--appendonly", "yes", "--auto-aof-rewrite-percentage", "0"]

# name -> (server kind, extra arguments, short column label)
CONFIGS = {
    "ferrodis-no": ("ferrodis", AOF_OFF, "f-mem"),
    "ferrodis-everysec": ("ferrodis", AOF_ARGS + ["--appendfsync", "everysec"], "f-every"),
    "ferrodis-always": ("ferrodis", AOF_ARGS + ["--appendfsync", "always"], "f-always"),
    "redis-no": ("redis", AOF_OFF, "r-mem"),
    "redis-everysec": ("redis", AOF_ARGS + ["--appendfsync", "everysec"], "r-every"),
    "redis-always": ("redis", AOF_ARGS + ["--appendfsync", "always"], "r-always"),
}

# Each compared pair is next to each other in this order.
ORDER = ["ferrodis-no", "ferrodis-everysec", "redis-everysec", "redis-no",
         "redis-always", "ferrodis-always"]

# (numerator, denominator, label, target or None)
RATIOS = [
    ("ferrodis-everysec", "ferrodis-no", "f-every/f-mem", 0.9),
    ("ferrodis-always", "redis-always", "f-always/r-always", 1.0),
    ("ferrodis-everysec", "redis-everysec", "f-every/r-every", None),
    ("redis-everysec", "redis-no", "r-every/r-mem", None),
]

FSYNC_PROBE_ITERATIONS = 200


def aof_bytes(server_dir):
    """Total size of the files under <dir>/appendonlydir (0 if absent)."""
    total = 0
    for root, _, files in os.walk(os.path.join(server_dir, "appendonlydir")):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def settled_aof_bytes(server_dir, timeout=2.0):
    """The AOF size once it has stopped changing for 0.3 s (a server may
    still hold a buffer when the benchmark's last reply has come back)."""
    deadline = time.time() + timeout
    last, stable_since = aof_bytes(server_dir), time.time()
    while time.time() < deadline:
        time.sleep(0.1)
        now = aof_bytes(server_dir)
        if now != last:
            last, stable_since = now, time.time()
        elif time.time() - stable_since >= 0.3:
            break
    return last


def disk_stat_path(path):
    st = os.stat(path)
    p = f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}/stat"
    return p if os.path.exists(p) else None


def disk_flushes(stat_path):
    """Flush requests the disk has completed (field 16 of its stat file),
    or None where the kernel or device does not report them."""
    if stat_path is None:
        return None
    try:
        with open(stat_path) as f:
            fields = f.read().split()
        return int(fields[15]) if len(fields) >= 17 else None
    except (OSError, ValueError):
        return None


def fsync_probe(directory, iterations=FSYNC_PROBE_ITERATIONS):
    """Times `iterations` appends of 64 bytes, each followed by fdatasync,
    on a file in `directory`; returns (median µs, flushes per fdatasync or
    None)."""
    path = os.path.join(directory, "fsync-probe")
    stat_path = disk_stat_path(directory)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    samples = []
    try:
        flushes_before = disk_flushes(stat_path)
        for _ in range(iterations):
            t0 = time.perf_counter()
            os.write(fd, b"x" * 63 + b"\n")
            os.fdatasync(fd)
            samples.append(time.perf_counter() - t0)
        flushes_after = disk_flushes(stat_path)
    finally:
        os.close(fd)
        os.unlink(path)
    per_sync = None
    if flushes_before is not None and flushes_after is not None:
        per_sync = (flushes_after - flushes_before) / iterations
    return statistics.median(samples) * 1e6, per_sync


def run_one(name, test, opts):
    """One redis-benchmark run on a fresh server of configuration `name`.
    Returns a dict with ops/s (None if the run failed), AOF bytes, the
    disk's flushes during the run and, for `always`, the fsync probe."""
    kind, extra, _ = CONFIGS[name]
    server = common.Server(kind, extra)
    out = {"rps": None, "aof": 0, "flushes": None, "probe": None}
    try:
        if name.endswith("always"):
            out["probe"] = fsync_probe(server.dir)
        stat_path = disk_stat_path(server.dir)
        before = disk_flushes(stat_path)
        args = ["-r", str(opts.random_keys), "-t", test]
        out["rps"] = run_benchmark(server.port, args, opts.clients,
                                   opts.requests, 1)
        after = disk_flushes(stat_path)
        if before is not None and after is not None:
            out["flushes"] = after - before
        if server.proc.poll() is not None:
            common.log(f"  {name} exited during the {test} run")
            out["rps"] = None
        if name.endswith(("everysec", "always")):
            out["aof"] = settled_aof_bytes(server.dir)
    finally:
        server.stop()
    return out


def fmt_ratio(x, target):
    flag = f"  <{target}" if target is not None and x < target else ""
    return f"{x:.2f}x{flag}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, help="rounds (default 3, --quick 1)")
    ap.add_argument("--requests", type=int,
                    help="requests per run (default 300000, --quick 50000)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--tests", default="set,incr,lpush,hset",
                    help="comma-separated redis-benchmark -t tests")
    ap.add_argument("--random-keys", type=int, default=100_000,
                    help="redis-benchmark -r keyspace")
    ap.add_argument("--quick", action="store_true",
                    help="a short run: 1 round of 50000 requests")
    ap.add_argument("--no-build", action="store_true")
    opts = ap.parse_args()
    if opts.rounds is None:
        opts.rounds = 1 if opts.quick else 3
    if opts.requests is None:
        opts.requests = 50_000 if opts.quick else 300_000
    tests = [t.strip().lower() for t in opts.tests.split(",") if t.strip()]

    if not opts.no_build:
        common.build_release()
    # Run a private copy of the binary, so that a rebuild of target/release
    # in the middle of the run cannot change the server under test.
    bin_dir = tempfile.mkdtemp(prefix="ferrodis-bench-bin-")
    built = time.strftime("%Y-%m-%d %H:%M:%S",
                          time.localtime(os.path.getmtime(common.FERRODIS_BIN)))
    common.FERRODIS_BIN = shutil.copy2(common.FERRODIS_BIN, bin_dir)
    try:
        run(opts, tests, built)
    finally:
        shutil.rmtree(bin_dir, ignore_errors=True)


def run(opts, tests, built):
    started = time.time()
    # runs[test][config] = [run dict per round]
    runs = {t: {name: [] for name in CONFIGS} for t in tests}
    for rnd in range(opts.rounds):
        order = ORDER if rnd % 2 == 0 else ORDER[::-1]
        for test in tests:
            for name in order:
                r = run_one(name, test, opts)
                runs[test][name].append(r)
                extra = ""
                if r["aof"]:
                    extra += f", AOF {r['aof'] / 2**20:.1f} MiB"
                if r["flushes"] is not None and name.endswith("always"):
                    extra += f", {r['flushes']} flushes"
                common.log(f"round {rnd + 1} {test} {name}: {r['rps']} ops/s{extra}")

    print()
    print(f"AOF write throughput: redis-benchmark -c {opts.clients} "
          f"-n {opts.requests} -r {opts.random_keys}, unpipelined, "
          f"{opts.rounds} round(s); fresh server per run; "
          f"ferrodis binary built {built}")

    probes = [r["probe"] for t in tests for name in CONFIGS
              for r in runs[t][name] if r["probe"]]
    if probes:
        us = [p[0] for p in probes]
        per = [p[1] for p in probes if p[1] is not None]
        line = (f"fsync cost on this disk (64-byte write + fdatasync, "
                f"{FSYNC_PROBE_ITERATIONS} iterations x {len(us)} probes): "
                f"median {statistics.median(us):.0f} us "
                f"(probes {min(us):.0f}..{max(us):.0f} us)")
        if per:
            line += f", {statistics.median(per):.2f} disk flushes per fdatasync"
        print(line)

    failed = {(t, name) for t in tests for name in CONFIGS
              if any(r["rps"] is None for r in runs[t][name])}

    print()
    print("== median ops/s ==")
    print(f"{'test':<8}" + "".join(f" {CONFIGS[n][2]:>9}" for n in CONFIGS))
    for t in tests:
        cells = []
        for name in CONFIGS:
            if (t, name) in failed:
                cells.append(f" {'failed':>9}")
            else:
                cells.append(f" {statistics.median(r['rps'] for r in runs[t][name]):>9.0f}")
        print(f"{t.upper():<8}" + "".join(cells))

    print()
    print("== ratios: median of the rounds' ratios ('<T' marks a miss of target T) ==")
    print(f"{'test':<8}" + "".join(f" {label:>19}" for _, _, label, _ in RATIOS))
    per_ratio = {label: [] for _, _, label, _ in RATIOS}
    for t in tests:
        cells = []
        for num, den, label, target in RATIOS:
            if (t, num) in failed or (t, den) in failed:
                cells.append(f" {'n/a':>19}")
                continue
            ratio = statistics.median(
                a["rps"] / b["rps"] for a, b in zip(runs[t][num], runs[t][den]))
            per_ratio[label].append(ratio)
            cells.append(f" {fmt_ratio(ratio, target):>19}")
        print(f"{t.upper():<8}" + "".join(cells))
    cells = []
    for _, _, label, target in RATIOS:
        xs = per_ratio[label]
        cells.append(f" {fmt_ratio(geomean(xs), target) if xs else 'n/a':>19}")
    print(f"{'geomean':<8}" + "".join(cells))
    for num, den, label, target in RATIOS:
        if target is None or not per_ratio[label]:
            continue
        g = geomean(per_ratio[label])
        verdict = "met" if g >= target else "NOT met"
        print(f"  {label} >= {target}: {verdict} ({g:.2f}x)")

    print()
    print("== AOF after each run (medians over rounds; fsyncs = disk flushes "
          "during the run; ops/fsync from the totals) ==")
    print(f"{'config':<18} {'test':<7} {'AOF MiB':>8} {'B/op':>6} "
          f"{'fsyncs':>7} {'ops/fsync':>10}")
    no_aof = {}
    for name in CONFIGS:
        if not name.endswith(("everysec", "always")):
            continue
        for t in tests:
            rs = runs[t][name]
            size = statistics.median(r["aof"] for r in rs)
            if size == 0:
                no_aof.setdefault(name, []).append(t.upper())
            flushes = [r["flushes"] for r in rs if r["flushes"] is not None]
            fs = f"{statistics.median(flushes):.0f}" if flushes else "n/a"
            # From the totals: a median of 0 and 1 fsync is no divisor.
            per = (f"{opts.requests * len(flushes) / sum(flushes):.1f}"
                   if flushes and sum(flushes) else "n/a")
            print(f"{name:<18} {t.upper():<7} {size / 2**20:>8.1f} "
                  f"{size / opts.requests:>6.1f} {fs:>7} {per:>10}")
    for name, ts in no_aof.items():
        print(f"WARNING: {name} wrote no AOF ({', '.join(ts)}): "
              f"those runs measure an in-memory server")
    print(f"\n(elapsed {time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
