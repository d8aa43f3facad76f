#!/usr/bin/env python3
"""Runs Redis's own TCL test files in external mode against ferrodis and
against redis-server, side by side, prints pass/fail counts per file, and
gates ferrodis's counts against a committed baseline.

Usage: scripts/tcl-suite.py [--ferrodis BIN] [--baseline FILE]
                            REDIS_SOURCE_DIR [test-file ...]

REDIS_SOURCE_DIR is a redis 7.0.15 source tree with its tests/: Debian's
source package as scripts/tcl-deps.sh fetches it (what CI uses), or a
checkout of redis/redis at tag 7.0.15. Its runner is used from a scratch
copy (nothing of it enters this project). Needs tclsh and redis-server.
Without --ferrodis it builds ferrodis in release and runs that binary.

The gate: the baseline (default tests/tcl/baseline.txt; lines
`<test-file> <minimum ferrodis passes>`, `#` comments) gives, per file, how
many tests must pass on ferrodis; a file that passes fewer fails the gate.
Default files: those in the baseline. A file given on the command line that
is not in the baseline is run and reported, not gated. The last line is
`tcl gate: N passed, M failed` (one per gated file); exit status 1 when any
gated file fails, 0 otherwise.

A test that raises an exception (typically an unknown command of a later
milestone: sets, sorted sets, blocking pops, ...) aborts the rest of its
file in external mode, so such a test is skipped by name and the file
re-run; skipped tests are listed, so each can be checked to really need a
later feature.
"""
import argparse
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

# The benchmarks' port picker (honours FERRODIS_BENCH_PORTS).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from common import free_port  # noqa: E402
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BASELINE = os.path.join(ROOT, "tests", "tcl", "baseline.txt")
# Tests that hang on ferrodis rather than fail (lines `<test-file> | <test
# name>`, `#` comments, each with its reason): skipped by name on ferrodis
# from the start, so that the rest of their file runs; Redis runs them.
HANGS = os.path.join(ROOT, "tests", "tcl", "hangs.txt")
# One runtest invocation of one file may take this long (seconds; the
# longest takes about 30), and the whole suite this long (it takes about 3
# minutes), so that a hang cannot stretch CI: a run cut short counts what it
# passed so far plus one failure, and a file not reached in time fails.
RUN_TIMEOUT = int(os.environ.get("FERRODIS_TCL_RUN_TIMEOUT", "300"))
SUITE_BUDGET = 1800
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The failing test's source line in the exception trace: `"test {name} {`
# or `"test "name" {` (the name may hold unexpanded $variables).
FAILING_TEST = re.compile(r'^"test (?:\{(.+?)\}|"(.+?)") \{', re.M)


def skip_pattern(m):
    """A --skiptest argument for a matched test name: the name itself, or a
    regular expression (leading '/') when it holds TCL variables."""
    name = m.group(1) or m.group(2)
    if "$" not in name and "[" not in name:
        return name
    parts = re.split(r"\$\w+|\[[^\]]*\]", name)
    return "/^" + ".*".join(re.escape(p) for p in parts) + "$"


def start(cmd, port):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("server did not start: " + " ".join(cmd))


def run_bounded(args, cwd, timeout):
    """Runs a command for at most `timeout` seconds; returns (stdout, timed
    out). The command runs in a process group of its own, killed whole on a
    timeout: runtest is a shell script whose tclsh and its test clients would
    otherwise outlive it."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    try:
        return proc.communicate(timeout=timeout)[0], False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()[0], True


def run_file(tree, kind, binary, test_file, deadline, hangs=()):
    """Returns (ok, failed-test-names, skipped-test-patterns); `hangs` are
    skipped from the start."""
    skipped, ok, failed = list(hangs), 0, []
    for _ in range(60):
        timeout = min(RUN_TIMEOUT, deadline - time.time())
        if timeout <= 0:
            failed.append("not run: the suite's %d s budget was spent" % SUITE_BUDGET)
            break
        port = free_port()
        if kind == "ferrodis":
            cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        else:
            cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no"]
        server = start(cmd, port)
        args = ["./runtest", "--host", "127.0.0.1", "--port", str(port), "--single", test_file,
                "--ignore-encoding", "--ignore-digest", "--tags", "-needs:repl",
                "--tags", "-needs:debug", "--clients", "1"]
        for name in skipped:
            args += ["--skiptest", name]
        try:
            out, timed_out = run_bounded(args, tree, timeout)
        finally:
            server.kill()
            server.wait()
        out = ANSI.sub("", out)
        ok = len(re.findall(r"^\[ok\]", out, re.M))
        failed = re.findall(r"^\[err\]: (.*)$", out, re.M)
        if timed_out:
            last = [l for l in out.strip().splitlines() if l.strip()][-1:] or ["nothing"]
            failed.append("runtest timed out after %.1f s (its last line: %s)" % (timeout, last[0][:200]))
            break
        if "[exception]" not in out:
            if "The End" not in out:
                # runtest stopped before its summary without an exception.
                tail = " | ".join(out.strip().splitlines()[-3:])
                failed.append("runtest ended early: " + tail[:300])
            break
        after = out.split("[exception]", 1)[1]
        m = FAILING_TEST.search(after)
        pattern = skip_pattern(m) if m else None
        if pattern is None or pattern in skipped:
            failed.append("exception outside a test: " + after.splitlines()[0][:200])
            break
        skipped.append(pattern)
    return ok, failed, skipped


def read_hangs(path):
    """The known hangs as {test-file: [test names]}."""
    hangs = {}
    if not os.path.exists(path):
        return hangs
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            test_file, sep, name = (part.strip() for part in line.partition("|"))
            if not sep or not name:
                sys.exit("%s:%d: expected '<test-file> | <test name>', got %r" % (path, number, line))
            hangs.setdefault(test_file, []).append(name)
    return hangs


def read_baseline(path):
    """The baseline as an ordered {test-file: minimum ferrodis passes}."""
    baseline = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                sys.exit("%s:%d: expected '<test-file> <count>', got %r" % (path, number, line))
            baseline[parts[0]] = int(parts[1])
    return baseline


def prepare_tree(src, work):
    """A scratch copy of the source tree with the harness adjusted for
    external mode against ferrodis."""
    if not os.path.isfile(os.path.join(src, "tests", "test_helper.tcl")):
        sys.exit("%s is not a redis source tree (no tests/test_helper.tcl)" % src)
    tree = os.path.join(work, "redis")
    shutil.copytree(src, tree, symlinks=True)
    # The external-mode harness calls FUNCTION FLUSH between tests;
    # Redis Functions are a later milestone, so let that one call fail.
    helper = os.path.join(tree, "tests", "support", "server.tcl")
    text = open(helper).read()
    patched = text.replace("\n    r function flush\n", "\n    catch {r function flush}\n")
    if patched == text:
        sys.exit("%s: the FUNCTION FLUSH call to relax was not found" % helper)
    open(helper, "w").write(patched)
    return tree


def main():
    parser = argparse.ArgumentParser(usage=__doc__.split("\n\n")[1].split(": ", 1)[1])
    parser.add_argument("--ferrodis", help="ferrodis-server binary (default: build it in release)")
    parser.add_argument("--baseline", default=DEFAULT_BASELINE)
    parser.add_argument("source")
    parser.add_argument("files", nargs="*")
    opts = parser.parse_args()
    baseline = read_baseline(opts.baseline)
    hangs = read_hangs(HANGS)
    files = opts.files or list(baseline)
    if opts.ferrodis:
        binary = os.path.abspath(opts.ferrodis)
    else:
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "ferrodis-server")
    if not os.access(binary, os.X_OK):
        sys.exit("no ferrodis binary at " + binary)
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is not installed (Debian: apt-get install redis-server)")
    # Redis's runner listens on a fixed port of its own, so two runs on one
    # machine would collide: a second run waits for the first.
    lock = open(os.path.join(tempfile.gettempdir(), "ferrodis-tcl-suite.lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    work = tempfile.mkdtemp(prefix="tcl-suite-")
    gate_ok, gate_failed, notes = 0, [], []
    started = time.time()
    deadline = started + SUITE_BUDGET
    try:
        tree = prepare_tree(opts.source, work)
        row = "%-18s %14s %26s %9s %6s"
        print(row % ("file", "redis ok/err", "ferrodis ok/err/skipped", "baseline", "gate"))
        for f in files:
            t = time.time()
            rok, rfail, rskip = run_file(tree, "redis", None, f, deadline)
            fok, ffail, fskip = run_file(tree, "ferrodis", binary, f, deadline, hangs.get(f, []))
            if f in baseline:
                verdict = "ok" if fok >= baseline[f] else "FAIL"
                if fok < baseline[f]:
                    gate_failed.append("%s: ferrodis passed %d, baseline %d" % (f, fok, baseline[f]))
                else:
                    gate_ok += 1
                if fok > baseline[f]:
                    notes.append("%s: ferrodis passes %d, above its baseline %d: raise it" %
                                 (f, fok, baseline[f]))
                minimum = str(baseline[f])
            else:
                verdict, minimum = "-", "-"
            print(row % (f, "%d/%d" % (rok, len(rfail) + len(rskip)),
                         "%d/%d/%d" % (fok, len(ffail), len(fskip)), minimum, verdict)
                  + "  (%d s)" % (time.time() - t))
            for name in rfail:
                print("    redis failed: " + name)
            for name in ffail:
                print("    failed:  " + name)
            for name in fskip:
                print("    skipped: " + name)
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for line in notes:
        print("note: " + line)
    for line in gate_failed:
        print("GATE FAILED: " + line)
    print("tcl suite took %d s" % (time.time() - started))
    print("tcl gate: %d passed, %d failed" % (gate_ok, len(gate_failed)))
    sys.exit(1 if gate_failed else 0)


if __name__ == "__main__":
    main()
