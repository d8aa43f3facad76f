#!/usr/bin/env python3
"""Server CPU under a light, steady load: ferrodis against redis-server.

A light load arrives at a steady rate rather than back to back: a few
connections send GETs, one at a time, paced to a total rate (5k and 20k
requests per second by default) for several seconds. The figure that
matters is the server's CPU time (user + system, from /proc) for the same
requests, as a ratio to Redis's, next to the round-trip latency the clients
saw. A last run measures each server with its clients connected but silent
(the cost of being idle).

Each rate runs both servers back to back, `--rounds` times; the ratio is the
median of the rounds' ratios. Standard library only; servers listen on
127.0.0.1 and are stopped by the pid this script started.
"""

import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def paced_client(port, rate, seconds, start_at, out):
    """Sends GETs at `rate` per second from one connection, each waiting
    for its reply; reports the count and the latencies (µs)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = common.encode("GET", "light:key")
    latencies = []
    sent = 0
    while time.time() < start_at:
        time.sleep(0.001)
    begin = time.perf_counter()
    end = begin + seconds
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        due = int((now - begin) * rate)
        if sent >= due:
            # Sleep until the next request is due (timer slack makes this a
            # little coarser than 1/rate; the rate still averages out).
            time.sleep(max(0.0, begin + (sent + 1) / rate - now))
            continue
        t0 = time.perf_counter()
        sock.sendall(request)
        reply = b""
        while not reply.endswith(b"\r\n") or reply.startswith(b"$") and reply.count(b"\r\n") < 2:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("server closed the connection")
            reply += chunk
        latencies.append((time.perf_counter() - t0) * 1e6)
        sent += 1
    sock.close()
    out.put((sent, latencies))


def run_load(server, rate, seconds, connections):
    """Runs the paced load; returns (server CPU s, requests, p50, p99 µs)."""
    queue = multiprocessing.Queue()
    start_at = time.time() + 0.5
    procs = [multiprocessing.Process(
        target=paced_client,
        args=(server.port, rate / connections, seconds, start_at, queue))
        for _ in range(connections)]
    for p in procs:
        p.start()
    while time.time() < start_at:
        time.sleep(0.001)
    cpu0 = common.cpu_seconds(server.pid)
    results = [queue.get(timeout=seconds + 30) for _ in procs]
    cpu1 = common.cpu_seconds(server.pid)
    for p in procs:
        p.join()
    requests = sum(r[0] for r in results)
    lat = sorted(x for r in results for x in r[1])
    p50 = lat[len(lat) // 2] if lat else 0.0
    p99 = lat[int(len(lat) * 0.99)] if lat else 0.0
    return cpu1 - cpu0, requests, p50, p99


def idle_cpu(server, seconds, connections):
    """Server CPU while `connections` clients are connected but silent."""
    socks = [socket.create_connection(("127.0.0.1", server.port))
             for _ in range(connections)]
    time.sleep(0.5)
    cpu0 = common.cpu_seconds(server.pid)
    time.sleep(seconds)
    cpu1 = common.cpu_seconds(server.pid)
    for s in socks:
        s.close()
    return cpu1 - cpu0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rates", default="5000,20000",
                    help="comma-separated total request rates per second")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-seconds", type=float, default=5.0)
    ap.add_argument("--ferrodis-config", default="",
                    help="extra ferrodis arguments, e.g. '--idle-poll-usec 0'")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if not args.no_build:
        common.build_release()
    rates = [int(r) for r in args.rates.split(",")]
    servers = {"ferrodis": common.Server("ferrodis", args.ferrodis_config.split()),
               "redis": common.Server("redis")}
    try:
        for kind, s in servers.items():
            c = common.Client(s.port)
            c.command(b"SET", b"light:key", b"x" * 32)
            c.close()
        rows = []
        for rate in rates:
            ratios, figures = [], {"ferrodis": [], "redis": []}
            for rnd in range(args.rounds):
                cpu = {}
                for kind, s in servers.items():
                    used, n, p50, p99 = run_load(s, rate, args.seconds, args.connections)
                    cpu[kind] = used
                    figures[kind].append((used, n, p50, p99))
                    common.log(f"  {rate}/s round {rnd + 1} {kind}: {used:.2f} s CPU "
                               f"for {n} requests, p50 {p50:.0f} µs, p99 {p99:.0f} µs")
                ratios.append(cpu["ferrodis"] / max(cpu["redis"], 0.01))
            rows.append((rate, figures, statistics.median(ratios)))
        idle = {k: idle_cpu(s, args.idle_seconds, args.connections)
                for k, s in servers.items()}
    finally:
        for s in servers.values():
            s.stop()

    print(f"| paced GETs ({args.connections} connections, {args.seconds:g} s) "
          "| ferrodis CPU | Redis CPU | CPU ratio | ferrodis p50 / p99 | Redis p50 / p99 |")
    print("|---|---|---|---|---|---|")
    for rate, figures, ratio in rows:
        def med(kind, i):
            return statistics.median(f[i] for f in figures[kind])
        print(f"| {rate:,}/s | {med('ferrodis', 0):.2f} s | {med('redis', 0):.2f} s | "
              f"**{ratio:.2f}** | {med('ferrodis', 2):.0f} / {med('ferrodis', 3):.0f} µs | "
              f"{med('redis', 2):.0f} / {med('redis', 3):.0f} µs |")
    print(f"| idle, {args.idle_seconds:g} s | {idle['ferrodis']:.2f} s | "
          f"{idle['redis']:.2f} s | | | |")


if __name__ == "__main__":
    main()
