#!/usr/bin/env python3
"""Blocking pops: ferrodis against redis-server, side by side in one run.

Two figures:

* Wake-up latency. One connection blocks in BLPOP on an empty list; once
  the server reports it blocked (INFO's blocked_clients, asked on the
  other connection), the other connection sends LPUSH, and the time from
  that send to the blocked connection's reply is one sample. On ferrodis
  the two connections are put on different workers first (DEBUG WORKER),
  so every wake-up crosses threads; the script checks they stayed there.
  p50 and p99 over `--samples` samples (or `--seconds`, whichever ends
  first), per server, `--rounds` times.
* Producer/consumer throughput. `--pairs` redis-benchmark clients LPUSH
  one element each request onto one list while as many BRPOP it (timeout
  0), the two redis-benchmark processes running at once, until
  `--elements` elements have gone through. Elements per second (wall
  clock, until both finished) and the server's CPU time (user + system,
  from /proc) per element; ratios are medians over the rounds.

Servers listen on 127.0.0.1 on ports from FERRODIS_BENCH_PORTS when set
and are stopped by the pid this script started. Standard library and
redis-benchmark only.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


class Conn:
    """A raw connection reading whole replies of the shapes used here."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client = common.Client.__new__(common.Client)
        self.client.sock = self.sock
        self.client.buf = b""

    def send(self, *args):
        self.sock.sendall(common.encode(*args))

    def reply(self):
        return self.client.reply()

    def command(self, *args):
        self.send(*args)
        return self.reply()

    def close(self):
        self.sock.close()


def blocked_count(conn):
    info = conn.command("INFO", "clients").decode()
    for line in info.splitlines():
        if line.startswith("blocked_clients:"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("INFO clients has no blocked_clients")


def place(conn, worker):
    """Moves a ferrodis connection to `worker`; returns where it runs."""
    reply = conn.command("DEBUG", "WORKER", str(worker))
    if isinstance(reply, bytes) and reply.startswith(b"ERR"):
        raise RuntimeError(reply.decode())
    return conn.command("DEBUG", "WORKER")


def wakeup_latency(server, samples, seconds):
    """Samples (µs) of LPUSH-to-BLPOP-reply, the clients on different
    workers on ferrodis."""
    producer, consumer = Conn(server.port), Conn(server.port)
    if server.kind == "ferrodis":
        workers = (place(producer, 0), place(consumer, 1))
        if workers != (0, 1):
            raise RuntimeError(f"connections on workers {workers}, wanted (0, 1)")
    producer.command("DEL", "wake:q")
    lat = []
    end = time.perf_counter() + seconds
    while len(lat) < samples and time.perf_counter() < end:
        consumer.send("BLPOP", "wake:q", "0")
        while blocked_count(producer) != 1:
            pass
        t0 = time.perf_counter()
        producer.send("LPUSH", "wake:q", "x")
        got = consumer.reply()
        t1 = time.perf_counter()
        if got != [b"wake:q", b"x"]:
            raise RuntimeError(f"BLPOP replied {got!r}")
        producer.reply()
        lat.append((t1 - t0) * 1e6)
    if server.kind == "ferrodis":
        workers = (producer.command("DEBUG", "WORKER"), consumer.command("DEBUG", "WORKER"))
        if workers != (0, 1):
            raise RuntimeError(f"connections moved to workers {workers} during the run")
    producer.close()
    consumer.close()
    lat.sort()
    return lat


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def producer_consumer(server, pairs, elements, timeout):
    """Runs LPUSH clients against BRPOP clients; returns (seconds, server
    CPU seconds, elements left over)."""
    c = common.Client(server.port)
    c.command(b"DEL", b"jobs")
    base = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port),
            "-c", str(pairs), "-n", str(elements), "-q"]
    cpu0 = common.cpu_seconds(server.pid)
    t0 = time.perf_counter()
    consumers = subprocess.Popen(base + ["BRPOP", "jobs", "0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    producers = subprocess.Popen(base + ["LPUSH", "jobs", "job-payload-0123456789"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        producers.wait(timeout)
        consumers.wait(max(1, timeout - (time.perf_counter() - t0)))
    except subprocess.TimeoutExpired:
        producers.kill()
        consumers.kill()
        producers.wait()
        consumers.wait()
        raise RuntimeError(f"{server.kind}: producer/consumer run exceeded {timeout} s")
    took = time.perf_counter() - t0
    cpu = common.cpu_seconds(server.pid) - cpu0
    left = c.command(b"LLEN", b"jobs")
    c.close()
    return took, cpu, left


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="at most this long per latency measurement")
    ap.add_argument("--pairs", type=int, default=10,
                    help="producer connections, and as many consumers")
    ap.add_argument("--elements", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        common.build_release()
    servers = {"ferrodis": common.Server("ferrodis"), "redis": common.Server("redis")}
    lat = {k: [] for k in servers}
    thr = {k: [] for k in servers}
    lat_ratio, thr_ratio, cpu_ratio = [], [], []
    try:
        for rnd in range(args.rounds):
            p50 = {}
            for kind, s in servers.items():
                samples = wakeup_latency(s, args.samples, args.seconds)
                lat[kind].append((pct(samples, 0.5), pct(samples, 0.99), len(samples)))
                p50[kind] = pct(samples, 0.5)
                common.log(f"round {rnd + 1} {kind}: wake-up p50 {pct(samples, 0.5):.1f} µs, "
                           f"p99 {pct(samples, 0.99):.1f} µs over {len(samples)} samples")
            lat_ratio.append(p50["ferrodis"] / p50["redis"])
            rate, per = {}, {}
            for kind, s in servers.items():
                took, cpu, left = producer_consumer(s, args.pairs, args.elements, 120)
                if left != 0:
                    raise RuntimeError(f"{kind}: {left} elements left on the list")
                rate[kind] = args.elements / took
                per[kind] = cpu / args.elements * 1e6
                thr[kind].append((rate[kind], per[kind]))
                common.log(f"round {rnd + 1} {kind}: {rate[kind]:,.0f} elements/s, "
                           f"{per[kind]:.2f} µs server CPU per element")
            thr_ratio.append(rate["ferrodis"] / rate["redis"])
            cpu_ratio.append(per["ferrodis"] / per["redis"])
    finally:
        for s in servers.values():
            s.stop()

    def med(kind, table, i):
        return statistics.median(r[i] for r in table[kind])

    print(f"| wake-up latency, LPUSH → blocked BLPOP's reply ({args.rounds} rounds, "
          f"up to {args.samples} samples each) | ferrodis | Redis | ratio |")
    print("|---|---|---|---|")
    print(f"| p50 | {med('ferrodis', lat, 0):.1f} µs | {med('redis', lat, 0):.1f} µs | "
          f"**{statistics.median(lat_ratio):.2f}** |")
    p99_ratio = med('ferrodis', lat, 1) / med('redis', lat, 1)
    print(f"| p99 | {med('ferrodis', lat, 1):.1f} µs | {med('redis', lat, 1):.1f} µs | "
          f"{p99_ratio:.2f} |")
    print()
    print(f"| producer/consumer, {args.pairs} LPUSH + {args.pairs} BRPOP clients, "
          f"{args.elements:,} elements | ferrodis | Redis | ratio |")
    print("|---|---|---|---|")
    print(f"| elements per second | {med('ferrodis', thr, 0):,.0f} | {med('redis', thr, 0):,.0f} | "
          f"**{statistics.median(thr_ratio):.2f}** |")
    print(f"| server CPU per element | {med('ferrodis', thr, 1):.2f} µs | "
          f"{med('redis', thr, 1):.2f} µs | {statistics.median(cpu_ratio):.2f} |")


if __name__ == "__main__":
    main()
