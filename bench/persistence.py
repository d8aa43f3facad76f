#!/usr/bin/env python3
"""RDB persistence of ferrodis vs redis-server, side by side.

    python3 bench/persistence.py [--scale 1.0] [--load-rounds 5] [--no-build]

Loads the same data into a fresh server of each kind (1M `user:N` hashes of
5 fields and 1M 32-byte strings, as bench/memory.py does), then measures:

* SAVE: time of the command and size of dump.rdb;
* BGSAVE: how long it runs, the extra resident memory it costs (peak VmRSS
  of the server plus, for Redis, the private memory of its forked child,
  over the RSS before) with only reads going on and again while a client
  overwrites strings, and
  the p99 latency of a GET loop while it runs against the same loop idle;
* load: a new server started on the dump, time until it answers PING;
  each server's own dump, loaded in rounds that alternate the two servers
  (median time of each, and the median of the rounds' ratios).

Prints each figure and the ferrodis/Redis ratio. `--scale` multiplies the
key counts (0.1 for a quick run).
"""

import argparse
import shutil
import tempfile
import os
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import memory  # noqa: E402


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def private_kb(pid):
    """Private (not shared with the parent) resident memory of a process:
    for Redis's forked saver, the pages copy-on-write has duplicated."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Dirty:", "Private_Clean:")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


class LatencyProbe:
    """GET round trips in a loop on one connection, timing each."""

    def __init__(self, port, key):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.req = common.encode(b"GET", key)
        self.samples = []
        self.running = False

    def _loop(self):
        while self.running:
            t0 = time.perf_counter()
            self.sock.sendall(self.req)
            buf = b""
            while not buf.endswith(b"\r\n") or buf.count(b"\r\n") < 2:
                buf += self.sock.recv(4096)
            self.samples.append(time.perf_counter() - t0)

    def run_for(self, seconds):
        self.samples = []
        self.running = True
        t = threading.Thread(target=self._loop)
        t.start()
        time.sleep(seconds)
        self.running = False
        t.join()
        return self.samples

    def start(self):
        self.samples = []
        self.running = True
        self.thread = threading.Thread(target=self._loop)
        self.thread.start()

    def stop(self):
        self.running = False
        self.thread.join()
        return self.samples


def p99(samples):
    if not samples:
        return float("nan")
    return statistics.quantiles(samples, n=100)[98] * 1e3


def info_field(server, section, name):
    return server.info(section).get(name)


def bgsave_extra_kb(server, client):
    """Runs a BGSAVE to its end; returns its seconds and the peak extra
    memory (kB) of the server plus, for Redis, its child's private pages."""
    base = rss_kb(server.pid)
    peak = base
    t0 = time.time()
    assert client.command(b"BGSAVE").startswith(b"Background saving")
    while True:
        total = rss_kb(server.pid) + sum(private_kb(ch) for ch in children(server.pid))
        peak = max(peak, total)
        if info_field(server, "persistence", "rdb_bgsave_in_progress") == "0":
            break
        time.sleep(0.005)
    return time.time() - t0, peak - base


def measure(kind, scale):
    server = common.Server(kind)
    out = {}
    try:
        common.pipeline_load(server.port, memory.hashes(int(1_000_000 * scale)))
        common.pipeline_load(server.port, memory.strings(int(1_000_000 * scale)))
        time.sleep(0.5)
        c = common.Client(server.port)
        out["keys"] = c.command(b"DBSIZE")
        t0 = time.time()
        assert c.command(b"SAVE") == b"OK"
        out["save_s"] = time.time() - t0
        path = os.path.join(server.dir, "dump.rdb")
        out["file_bytes"] = os.path.getsize(path)

        probe = LatencyProbe(server.port, b"key:1")
        out["idle_p99_ms"] = p99(probe.run_for(2.0))
        out["rss_mib"] = rss_kb(server.pid) / 1024
        probe.start()
        time.sleep(0.2)
        out["bgsave_s"], extra = bgsave_extra_kb(server, c)
        out["bgsave_p99_ms"] = p99(probe.stop())
        out["bgsave_extra_mib"] = extra / 1024

        # Again while a client overwrites strings as fast as it can, so that
        # the snapshot's copies (pages for Redis, buckets for ferrodis) pile up.
        n_strings = int(1_000_000 * scale)
        writing = [True]
        written = [0]

        def writer():
            w = socket.create_connection(("127.0.0.1", server.port))
            i = 0
            while writing[0]:
                batch = b"".join(common.encode(b"SET", b"key:%d" % ((i + j) * 7919 % n_strings),
                                               b"%032d" % j) for j in range(500))
                w.sendall(batch)
                got = 0
                while got < 500:
                    got += w.recv(1 << 16).count(b"\r\n")
                i += 500
                written[0] += 500
            w.close()

        time.sleep(0.5)
        t = threading.Thread(target=writer)
        t.start()
        time.sleep(0.2)
        _, extra = bgsave_extra_kb(server, c)
        writing[0] = False
        t.join()
        out["bgsave_writes_extra_mib"] = extra / 1024
        out["bgsave_writes"] = written[0]
        c.close()
        server.proc.kill()
        server.proc.wait()
        # The dump is loaded later, in rounds alternating with the other
        # server's (see load_rounds).
        out["dump_dir"] = tempfile.mkdtemp(prefix=f"ferrodis-bench-dump-{kind}-")
        shutil.copy(path, out["dump_dir"])
    finally:
        server.stop()
    return out


def load_once(kind, dump_dir, keys):
    """Seconds from process start until a fresh server that loads the
    dump in `dump_dir` answers PING."""
    t0 = time.time()
    again = common.Server(kind, ["--dir", dump_dir])
    took = time.time() - t0
    c = common.Client(again.port)
    loaded = c.command(b"DBSIZE")
    c.close()
    again.stop()
    if loaded != keys:
        raise RuntimeError(f"{kind} loaded {loaded} keys of {keys}")
    return took


def load_rounds(res, rounds):
    """Loads each server's own dump `rounds` times, alternating the two
    (the machine's slow spells then weigh on both), and records the median
    load time of each and the median of the rounds' ratios."""
    times = {"ferrodis": [], "redis": []}
    ratios = []
    for i in range(rounds):
        order = ("ferrodis", "redis") if i % 2 == 0 else ("redis", "ferrodis")
        took = {k: load_once(k, res[k]["dump_dir"], res[k]["keys"]) for k in order}
        for k in took:
            times[k].append(took[k])
        ratios.append(took["ferrodis"] / took["redis"])
        common.log(f"  load round {i + 1}: ferrodis {took['ferrodis']:.2f} s, "
                   f"redis {took['redis']:.2f} s")
    for k in times:
        res[k]["load_s"] = statistics.median(times[k])
        shutil.rmtree(res[k]["dump_dir"], ignore_errors=True)
    return statistics.median(ratios)


ROWS = [
    ("SAVE time (s)", "save_s", "{:.2f}"),
    ("dump.rdb size (MiB)", "file_bytes", None),
    ("load time (s)", "load_s", "{:.2f}"),
    ("BGSAVE time (s)", "bgsave_s", "{:.2f}"),
    ("BGSAVE extra memory (MiB)", "bgsave_extra_mib", "{:.1f}"),
    ("  ... under writes (MiB)", "bgsave_writes_extra_mib", "{:.1f}"),
    ("GET p99 idle (ms)", "idle_p99_ms", "{:.3f}"),
    ("GET p99 during BGSAVE (ms)", "bgsave_p99_ms", "{:.3f}"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--load-rounds", type=int, default=5)
    opts = ap.parse_args()
    if not opts.no_build:
        common.build_release()
    res = {}
    for kind in ("ferrodis", "redis"):
        common.log(f"measuring {kind}...")
        res[kind] = measure(kind, opts.scale)
        common.log(f"  {res[kind]}")
    load_ratio = load_rounds(res, opts.load_rounds)
    f, r = res["ferrodis"], res["redis"]
    print()
    print(f"RDB persistence, {f['keys']} keys (hashes x5 fields + 32-byte strings); "
          f"resident memory before BGSAVE: ferrodis {f['rss_mib']:.0f} MiB, "
          f"Redis {r['rss_mib']:.0f} MiB")
    print(f"{'':<28} {'ferrodis':>10} {'redis':>10} {'ratio':>7}")
    for label, key, fmt in ROWS:
        a, b = f[key], r[key]
        if fmt is None:
            a_s, b_s = f"{a / 2**20:.1f}", f"{b / 2**20:.1f}"
        else:
            a_s, b_s = fmt.format(a), fmt.format(b)
        ratio = f"{a / b:.2f}x" if b else "n/a"
        print(f"{label:<28} {a_s:>10} {b_s:>10} {ratio:>7}")
    print(f"load time, median of {opts.load_rounds} alternating rounds' ratios: "
          f"{load_ratio:.2f}x")
    print(f"ferrodis p99 during BGSAVE / idle: "
          f"{f['bgsave_p99_ms'] / f['idle_p99_ms']:.2f}x "
          f"(Redis: {r['bgsave_p99_ms'] / r['idle_p99_ms']:.2f}x)")


if __name__ == "__main__":
    main()
