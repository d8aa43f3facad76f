#!/usr/bin/env python3
"""Runs redis-py's own test suite (from its PyPI sdist) against redis-server
and against ferrodis, over RESP2 and RESP3, and compares the outcomes of the
tests that belong to the command families ferrodis implements.

The gate: every family test that passes against Redis must pass against
ferrodis, except those listed in tests/redis_py/known_failures.txt (each line
`<protocol> <test id>`; `#` comments). Listed tests that now pass are
reported so the list can shrink.

Usage: scripts/redis-py-suite.py --ferrodis BIN --suite DIR --python PY
Exit status: 0 when the gate holds, 1 otherwise.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

# Test files of the suite that are run; tests are then selected by family.
FILES = [
    "tests/test_commands.py",
    "tests/test_pipeline.py",
    "tests/test_hash.py",
    "tests/test_pubsub.py",
    "tests/test_scripting.py",
    "tests/test_lock.py",
    "tests/test_function.py",
    "tests/test_keyspace_notifications.py",
]

# Command families of this milestone, as test-name prefixes (after "test_").
FAMILIES = {
    "strings": "get set setex setnx psetex getset getdel getex mget mset msetnx append strlen "
    "getrange substr setrange incr decr incrby decrby incrbyfloat lcs",
    "hashes": "hset hsetnx hmset hget hmget hgetall hdel hlen hexists hkeys hvals hincrby "
    "hincrbyfloat hstrlen hrandfield hscan hscan_iter hexpire hpexpire hexpireat hpexpireat "
    "httl hpttl hexpiretime hpexpiretime hpersist hgetdel hgetex hsetex",
    "lists": "lpush rpush lpushx rpushx lpop rpop llen lrange lindex lset linsert lrem ltrim "
    "lpos lmove rpoplpush lmpop",
    "keys": "delete del exists expire pexpire expireat pexpireat ttl pttl expiretime "
    "pexpiretime persist rename renamenx copy move touch keys scan scan_iter randomkey "
    "object type unlink dbsize flushdb flushall swapdb select",
    "connection": "ping echo hello auth reset quit client config info time command memory "
    "debug",
    "zsets": "zadd zincrby zscore zmscore zcard zcount zlexcount zrank zrevrank zrange "
    "zrangestore zrevrange zrangebyscore zrevrangebyscore zrangebylex zrevrangebylex zrem "
    "zremrangebyscore zremrangebyrank zremrangebylex zpopmin zpopmax zmpop zunion zinter zdiff "
    "zunionstore zinterstore zdiffstore zintercard zrandmember zscan zscan_iter",
    "bitmaps": "setbit getbit bitcount bitpos bitop bitfield bitfield_ro",
    "hyperloglog": "pfadd pfcount pfmerge",
    "geo": "geoadd geodist geohash geopos old_geopos geosearch geosearchstore georadius "
    "georadiusmember",
    "sets": "sadd srem smembers sismember smismember scard smove spop srandmember sinter "
    "sintercard sinterstore sunion sunionstore sdiff sdiffstore sscan sscan_iter",
    "sort": "sort sort_ro",
    "blocking": "blpop brpop brpoplpush blmove blmovem blmpop bzpopmin bzpopmax bzmpop",
    "scripting": "eval evalsha eval_ro evalsha_ro script fcall fcall_ro function",
}
# Whole files that belong to the families (transactions and pipelines; hash field expiry;
# pub/sub; scripting, functions and locks; keyspace notifications).
FAMILY_CLASSES = ("tests.test_pipeline", "tests.test_hash", "tests.test_pubsub",
                  "tests.test_scripting", "tests.test_lock", "tests.test_function",
                  "tests.test_keyspace_notifications")
# Name parts that put a test in another family despite a matching prefix.
EXCLUDE = re.compile(r"cluster|module|acl|_lru|lfu_")

PREFIX = re.compile(
    r"^test_(?:%s)(?:_|$|\[)"
    % "|".join(sorted({w for ws in FAMILIES.values() for w in ws.split()}, key=len, reverse=True))
)


def in_family(classname, name):
    if EXCLUDE.search(name):
        return False
    if classname.startswith(FAMILY_CLASSES):
        return True
    return bool(PREFIX.match(name))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(cmd, port):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("server did not start: %s" % " ".join(cmd))


def run_suite(python, suite, port, protocol, xml_path):
    args = [python, "-m", "pytest", "-q", "--tb=no", "-p", "no:cacheprovider", "--timeout=60",
            "--redis-url=redis://127.0.0.1:%d/0" % port, "--junitxml=" + xml_path]
    if protocol == 3:
        args.append("--protocol=3")
    args += FILES
    subprocess.run(args, cwd=suite, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    outcomes = {}
    for tc in ET.parse(xml_path).iter("testcase"):
        state = "pass"
        for child in tc:
            if child.tag in ("failure", "error"):
                state = "fail"
            elif child.tag == "skipped":
                state = "skip"
        cls, name = tc.get("classname"), tc.get("name")
        if in_family(cls, name):
            outcomes["%s::%s" % (cls, name)] = state
    return outcomes


def load_known(path):
    known = set()
    if os.path.exists(path):
        for line in open(path):
            line = line.split("#", 1)[0].strip()
            if line:
                known.add(line)
    return known


def count(outcomes):
    c = {"pass": 0, "fail": 0, "skip": 0}
    for state in outcomes.values():
        c[state] += 1
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferrodis", required=True)
    ap.add_argument("--suite", required=True, help="unpacked redis-py sdist")
    ap.add_argument("--python", required=True)
    ap.add_argument("--known", default="tests/redis_py/known_failures.txt")
    ap.add_argument("--write-known", action="store_true", help="rewrite the known list from this run")
    opts = ap.parse_args()
    # pytest runs inside the suite's folder: make paths independent of it.
    opts.python = os.path.abspath(opts.python)
    opts.ferrodis = os.path.abspath(opts.ferrodis)

    work = tempfile.mkdtemp(prefix="redis-py-suite-")
    rport, fport = free_port(), free_port()
    redis = start(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", work], rport)
    ours = start([opts.ferrodis, "--port", str(fport), "--bind", "127.0.0.1", "--save", "",
                  "--dir", work], fport)
    known = load_known(opts.known)
    gaps, fixed, lines = [], [], []
    try:
        for protocol in (2, 3):
            theirs = run_suite(opts.python, opts.suite, rport, protocol, os.path.join(work, "r%d.xml" % protocol))
            mine = run_suite(opts.python, opts.suite, fport, protocol, os.path.join(work, "f%d.xml" % protocol))
            rc, fc = count(theirs), count(mine)
            lines.append("RESP%d: redis-server %d passed, %d failed, %d skipped; "
                         "ferrodis %d passed, %d failed, %d skipped (family tests)"
                         % (protocol, rc["pass"], rc["fail"], rc["skip"], fc["pass"], fc["fail"], fc["skip"]))
            for test, state in sorted(theirs.items()):
                entry = "%d %s" % (protocol, test)
                if state == "pass" and mine.get(test) != "pass":
                    if entry not in known:
                        gaps.append(entry)
                elif entry in known and mine.get(test) == "pass":
                    fixed.append(entry)
            for test, state in sorted(mine.items()):
                entry = "%d %s" % (protocol, test)
                if state == "pass" and entry in known:
                    fixed.append(entry)
            if opts.write_known:
                for test, state in sorted(theirs.items()):
                    if state == "pass" and mine.get(test) != "pass":
                        known.add("%d %s" % (protocol, test))
    finally:
        for p in (redis, ours):
            p.kill()
            p.wait()
    for line in lines:
        print(line)
    if opts.write_known:
        os.makedirs(os.path.dirname(opts.known) or ".", exist_ok=True)
        with open(opts.known, "w") as f:
            f.write("# redis-py tests that pass against Redis 7.0 but not yet against ferrodis.\n")
            f.write("# <protocol> <test id>; scripts/redis-py-suite.py fails on any gap not listed here.\n")
            for entry in sorted(known):
                f.write(entry + "\n")
        print("wrote %d known failures to %s" % (len(known), opts.known))
        return 0
    for entry in sorted(set(fixed)):
        print("now passing (remove from known list): " + entry)
    for entry in gaps:
        print("GAP: passes on Redis, fails on ferrodis: " + entry)
    print("known failures listed: %d; new gaps: %d" % (len(known), len(gaps)))
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
