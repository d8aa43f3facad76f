"""Helpers shared by the benchmark scripts: build, start servers, talk RESP.

Standard library only. Servers are started on free 127.0.0.1 ports and
stopped by the pid this module started, never by name.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRODIS_BIN = os.path.join(ROOT, "target", "release", "ferrodis-server")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build_release():
    """Builds ferrodis in release mode (cargo prints its own progress)."""
    log("building ferrodis (release)...")
    subprocess.run(
        ["cargo", "build", "--release", "--bin", "ferrodis-server"],
        cwd=ROOT,
        check=True,
    )


def free_port():
    """A port free a moment ago: from the range `FERRODIS_BENCH_PORTS`
    (`LOW-HIGH`) when it is set, for machines where runs share port
    ranges, else one the kernel picks."""
    span = os.environ.get("FERRODIS_BENCH_PORTS")
    if span:
        low, high = (int(x) for x in span.split("-"))
        start = int.from_bytes(os.urandom(2), "little") % (high - low + 1)
        for i in range(high - low + 1):
            port = low + (start + i) % (high - low + 1)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port in {span}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process (ferrodis or redis-server) on a free port."""

    def __init__(self, kind, extra=(), binary=None):
        """`kind` is "ferrodis" or "redis"; `binary` overrides the program
        (another Redis-compatible server, such as a Valkey build, runs as
        kind "redis")."""
        self.kind = kind
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"ferrodis-bench-{kind}-")
        if binary is None:
            binary = FERRODIS_BIN if kind == "ferrodis" else "redis-server"
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", self.dir]
        if kind == "redis":
            args += ["--protected-mode", "no"]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited during start-up")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            # Fine enough not to blur start-up times (bench/persistence.py
            # measures loading with it).
            time.sleep(0.01)
        raise RuntimeError(f"{self.kind} did not answer PING")

    @property
    def pid(self):
        return self.proc.pid

    def rss_kb(self):
        """Resident set size from /proc/PID/status, in KiB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def info(self, section=""):
        """INFO fields as a dict (empty values when the server lacks them)."""
        c = Client(self.port)
        try:
            raw = c.command(b"INFO", section.encode()) if section else c.command(b"INFO")
        finally:
            c.close()
        fields = {}
        if isinstance(raw, bytes):
            for line in raw.decode(errors="replace").splitlines():
                if ":" in line and not line.startswith("#"):
                    k, v = line.split(":", 1)
                    fields[k] = v
        return fields

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def encode(*args):
    """One request in RESP multibulk form."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Client:
    """A blocking RESP2 client, enough for INFO and simple replies."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return rest
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError(f"unexpected reply {line!r}")

    def command(self, *args):
        self.sock.sendall(encode(*args))
        return self.reply()


def pipeline_load(port, requests, batch=20000):
    """Sends an iterable of encoded requests with pipelining and waits for
    every reply. Replies must be one line each (+OK, :N), which is what the
    loading commands give; error replies are counted and reported."""
    sock = socket.create_connection(("127.0.0.1", port))
    sent = [0]
    done = threading.Event()
    errors = [0]
    received = [0]

    def reader():
        pending = b""
        while not (done.is_set() and received[0] >= sent[0]):
            try:
                chunk = sock.recv(1 << 20)
            except OSError:
                break
            if not chunk:
                break
            pending += chunk
            lines = pending.split(b"\r\n")
            pending = lines.pop()
            received[0] += len(lines)
            errors[0] += sum(1 for line in lines if line.startswith(b"-"))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    chunk = []
    for req in requests:
        chunk.append(req)
        if len(chunk) >= batch:
            sent[0] += len(chunk)
            sock.sendall(b"".join(chunk))
            chunk = []
            # Keep at most a few batches in flight.
            while sent[0] - received[0] > 4 * batch:
                time.sleep(0.001)
    sent[0] += len(chunk)
    sock.sendall(b"".join(chunk))
    done.set()
    while received[0] < sent[0] and t.is_alive():
        time.sleep(0.01)
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    t.join(5)
    if errors[0]:
        raise RuntimeError(f"{errors[0]} error replies while loading")
