#!/usr/bin/env python3
"""User-space instructions per command: ferrodis against redis-server.

Each server runs under valgrind's callgrind twice: once serving N requests
of one command (from redis-benchmark), once serving 2N, each run ending
with SHUTDOWN NOSAVE so that callgrind writes its totals. The difference
divided by N is the instructions per command, including everything the
server's threads did meanwhile (parsing, the command, replies, the event
loop) and nothing of start-up, which both runs share. (Zeroing the
counters of a running server with callgrind_control is not reliable: the
request waits until the server next runs.) Instruction
counts do not depend on the machine's load, so this figure is repeatable
where timings are not; it leaves out the kernel's share (see
bench/compare.py for CPU time).

ferrodis runs with `idle-poll-usec 0`: polling before sleeping adds
instructions that depend on timing, not on the command.

`--types ZINCRBY,ZPOPMIN,...` measures bench/types.py's cases instead of
redis-benchmark's own tests: the same preloaded keys, the same command
lines, and for the pops a key refilled with one member per prepared
request (the same size in both runs).

Standard library only; needs valgrind (callgrind_control) and
redis-benchmark. Servers listen on 127.0.0.1 and are stopped by the pid
this script started.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# redis-benchmark's own tests (-t names).
TESTS = ["set", "get", "incr", "lpush", "rpop", "hset"]


def types_case(label):
    """bench/types.py's case `label`: (redis-benchmark arguments, setup)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "bench_types", os.path.join(os.path.dirname(os.path.abspath(__file__)), "types.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, argv, setup in mod.CASES:
        if name == label.upper():
            return argv, setup, mod.preload
    raise SystemExit(f"no case {label} in bench/types.py")


def run_one(kind, test, requests, clients, pipeline, outdir):
    """Instructions per request of `test` on fresh servers of `kind`."""
    # Both runs start from the same keyspace, with (almost) every key the
    # command touches present: then the difference holds no key creation or
    # table growth, whose timing would differ between the runs.
    prepared = 4 * requests
    once = total_for(kind, test, prepared, requests, clients, pipeline, outdir)
    twice = total_for(kind, test, prepared, 2 * requests, clients, pipeline, outdir)
    return (twice - once) / requests


def total_for(kind, test, prepared, requests, clients, pipeline, outdir):
    """Instructions a fresh server of `kind` executes from start to exit
    when it serves `requests` requests of `test`, after `prepared` requests
    load the keys it reads or updates."""
    port = common.free_port()
    workdir = tempfile.mkdtemp(prefix=f"ferrodis-cg-{kind}-")
    name = "case" if isinstance(test, tuple) else test
    out = os.path.join(outdir, f"{kind}-{name}-{requests}.out")
    binary = common.FERRODIS_BIN if kind == "ferrodis" else shutil.which("redis-server")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", workdir]
    args += ["--idle-poll-usec", "0"] if kind == "ferrodis" else ["--protected-mode", "no"]
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + args,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(proc, port)
        # The keys the command reads or updates, the same in both runs.
        if isinstance(test, tuple):
            argv, setup, preload = test
            preload(port)
            if setup is not None:
                setup(port, prepared)
            bench(port, argv, requests, clients, pipeline)
        else:
            prepare = {"get": "set", "rpop": "lpush"}.get(test, test)
            bench(port, ["-t", prepare], prepared, clients, pipeline)
            bench(port, ["-t", test], requests, clients, pipeline)
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"],
                       capture_output=True, timeout=120)
        proc.wait(timeout=300)
        return total_instructions(out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def wait_ready(proc, port):
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited during start-up")
        r = subprocess.run(["redis-cli", "-p", str(port), "ping"],
                           capture_output=True, text=True)
        if r.stdout.strip() == "PONG":
            return
        time.sleep(0.2)
    raise RuntimeError("server did not answer PING under valgrind")


def bench(port, test_args, requests, clients, pipeline):
    subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port),
                    "-c", str(clients), "-n", str(requests), "-P", str(pipeline),
                    "-r", "100000", "-q"] + test_args,
                   check=True, capture_output=True, timeout=900)


def total_instructions(path):
    """The instruction total of a callgrind output file."""
    total = None
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                total = max(total or 0, int(line.split()[1]))
    if total is None:
        raise RuntimeError(f"no totals in {path}")
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--tests", default=",".join(TESTS))
    ap.add_argument("--types", help="comma-separated case labels of bench/types.py "
                    "(instead of --tests)")
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--ferrodis-bin", help="a ferrodis-server binary to measure "
                    "instead of this checkout's release build (for A/B runs)")
    ap.add_argument("--only-ferrodis", action="store_true",
                    help="skip redis-server (the ratio column is then empty)")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if args.ferrodis_bin:
        common.FERRODIS_BIN = os.path.abspath(args.ferrodis_bin)
        args.no_build = True
    for tool in ("valgrind", "redis-benchmark", "redis-cli", "redis-server"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (apt-get install valgrind redis-server redis-tools)")
    if not args.no_build:
        common.build_release()
    outdir = tempfile.mkdtemp(prefix="ferrodis-cg-out-")
    rows = []
    try:
        if args.types:
            tests = [(label.upper(), types_case(label)) for label in args.types.split(",")]
        else:
            tests = [(test.upper(), test) for test in args.tests.split(",")]
        for label, test in tests:
            per = {}
            for kind in ("ferrodis",) if args.only_ferrodis else ("ferrodis", "redis"):
                per[kind] = run_one(kind, test, args.requests, args.clients,
                                    args.pipeline, outdir)
                common.log(f"  {label} {kind}: {per[kind]:,.0f} instructions per command")
            rows.append((label, per["ferrodis"], per.get("redis")))
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    print(f"| instructions per command ({args.clients} clients, -P {args.pipeline}, "
          f"{args.requests:,} requests) | ferrodis | Redis | ratio |")
    print("|---|---|---|---|")
    for name, f, r in rows:
        if r is None:
            print(f"| {name} | {f:,.0f} | | |")
        else:
            print(f"| {name} | {f:,.0f} | {r:,.0f} | **{f / r:.2f}** |")


if __name__ == "__main__":
    main()
