#!/usr/bin/env python3
"""PUBLISH throughput, ferrodis against redis-server, side by side.

For 1, 10 and 100 subscribers of one channel, one connection publishes a
fixed number of short messages, pipelined in batches (it waits for each
batch's replies before the next), while the subscribers (spread over two
reader processes, each multiplexing its sockets) read every message. The
figures: messages delivered per second (messages × subscribers, from the
first PUBLISH until the last subscriber has read its last message), and the
server's CPU time (user + system, from /proc) per delivered message. Both
servers run with `client-output-buffer-limit pubsub 0 0 0`, so a subscriber
that falls behind only buffers.

Each case runs both servers back to back, `--rounds` times; the ratios are
medians of the rounds' ratios. Standard library only; servers listen on
127.0.0.1 (ports from FERRODIS_BENCH_PORTS when set) and are stopped by the
pid this script started.
"""

import argparse
import multiprocessing
import os
import selectors
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

CHANNEL = b"bench"
PAYLOAD = b"p" * 16
# The RESP2 frame each subscriber receives per message.
FRAME = common.encode("message", CHANNEL, PAYLOAD)


def subscriber_group(port, count, messages, ready, done):
    """Subscribes `count` connections, then reads until each has received
    `messages` frames; reports the time the last byte arrived."""
    sel = selectors.DefaultSelector()
    want = {}
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(common.encode("SUBSCRIBE", CHANNEL))
        confirm = common.encode("subscribe", CHANNEL, "1").replace(b"$1\r\n1\r\n", b":1\r\n")
        got = b""
        while len(got) < len(confirm):
            got += s.recv(len(confirm) - len(got))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        want[s] = messages * len(FRAME)
    ready.put(True)
    buf = bytearray(1 << 20)
    left = len(want)
    while left:
        for key, _ in sel.select():
            s = key.fileobj
            try:
                n = s.recv_into(buf)
            except BlockingIOError:
                continue
            if n == 0:
                raise ConnectionError("the server closed a subscriber")
            want[s] -= n
            if want[s] <= 0:
                sel.unregister(s)
                left -= 1
    done.put(time.perf_counter())
    for s in want:
        s.close()


def publish_all(port, messages, batch):
    """Publishes `messages` messages in pipelined batches."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = common.encode("PUBLISH", CHANNEL, PAYLOAD)
    sent = 0
    while sent < messages:
        n = min(batch, messages - sent)
        sock.sendall(request * n)
        lines = 0
        while lines < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the publisher")
            lines += chunk.count(b"\r\n")
        sent += n
    sock.close()


def run_case(server, subscribers, messages, batch):
    """One measurement: (deliveries per second, server CPU µs per delivery)."""
    ready, done = multiprocessing.Queue(), multiprocessing.Queue()
    groups = [subscribers // 2 + subscribers % 2, subscribers // 2]
    procs = [
        multiprocessing.Process(target=subscriber_group, args=(server.port, n, messages, ready, done))
        for n in groups
        if n
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    cpu0 = common.cpu_seconds(server.pid)
    start = time.perf_counter()
    publish_all(server.port, messages, batch)
    end = max(done.get(timeout=300) for _ in procs)
    cpu = common.cpu_seconds(server.pid) - cpu0
    for p in procs:
        p.join()
    delivered = messages * subscribers
    return delivered / (end - start), cpu * 1e6 / delivered


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100, help="PUBLISHes per pipelined batch")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the message counts")
    ap.add_argument("--no-build", action="store_true")
    opts = ap.parse_args()
    if not opts.no_build:
        common.build_release()
    extra = ["--client-output-buffer-limit", "pubsub", "0", "0", "0"]
    cases = [(1, 200_000), (10, 60_000), (100, 10_000)]
    rows = []
    for subscribers, messages in cases:
        messages = int(messages * opts.scale)
        rates = {"ferrodis": [], "redis": []}
        cpus = {"ferrodis": [], "redis": []}
        for _ in range(opts.rounds):
            for kind in ("ferrodis", "redis"):
                server = common.Server(kind, extra)
                try:
                    rate, cpu = run_case(server, subscribers, messages, opts.batch)
                finally:
                    server.stop()
                rates[kind].append(rate)
                cpus[kind].append(cpu)
                common.log(f"{subscribers:>3} subscribers {kind:>8}: {rate:12,.0f} msg/s  {cpu:.3f} µs CPU/msg")
        ratio = statistics.median(f / r for f, r in zip(rates["ferrodis"], rates["redis"]))
        cpu_ratio = statistics.median(f / r for f, r in zip(cpus["ferrodis"], cpus["redis"]))
        rows.append((subscribers, statistics.median(rates["ferrodis"]), statistics.median(rates["redis"]),
                     ratio, statistics.median(cpus["ferrodis"]), statistics.median(cpus["redis"]), cpu_ratio))
    print("| subscribers | ferrodis msg/s | Redis msg/s | ratio | ferrodis CPU µs/msg | Redis CPU µs/msg | CPU ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for s, f, r, ratio, fc, rc, cr in rows:
        print(f"| {s} | {f:,.0f} | {r:,.0f} | {ratio:.2f}x | {fc:.3f} | {rc:.3f} | {cr:.2f}x |")


if __name__ == "__main__":
    main()
