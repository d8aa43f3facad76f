#!/usr/bin/env bash
# Runs ferrodis's whole test suite. On a fresh Debian machine it first
# installs what the tests need: Debian's redis-server and redis-tools (the
# reference the differential tests compare against), redis-py 8 and pytest
# into .deps/py, node-redis 6 into .deps/node, redis-py's own test suite
# (from its PyPI sdist) into .deps/, and tclsh plus Debian's source package of
# redis 7.0.15 with Redis's TCL tests into .deps/redis-source
# (scripts/tcl-deps.sh, which adds a bookworm deb-src entry to apt if there
# is none). What was fetched once is reused.
#
# Stages: install, build, format, lint, cargo tests, redis-py suite, Redis
# TCL suite. The last line is "tests: N passed, M failed" over all tests run:
# every cargo test; the redis-py gate as one test; and one test per TCL file
# in tests/tcl/baseline.txt, passed when ferrodis passes at least that file's
# baseline count (the per-test counts of both servers are printed above it).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
deps=$root/.deps
mkdir -p "$deps"

passed=0
failed=0
stage_failures=()

stage() { printf '\n=== %s\n' "$1"; }
elapsed() { echo "($(( $(date +%s) - $1 )) s)"; }

stage "install test dependencies"
t=$(date +%s)
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  # Keep the package from starting its own server on port 6379.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
  status=$?
  [ "$created_policy" = 1 ] && rm -f "$policy"
  [ $status -eq 0 ] || { echo "apt-get install redis-server failed"; exit 1; }
fi
redis-server --version
if [ ! -x "$deps/py/bin/python" ]; then
  python3 -m venv "$deps/py" || { echo "python3 -m venv failed"; exit 1; }
fi
"$deps/py/bin/python" -c 'import redis, pytest, pytest_asyncio, pytest_timeout; assert redis.__version__ == "8.1.0"' 2>/dev/null ||
  "$deps/py/bin/pip" install -q redis==8.1.0 pytest pytest-asyncio pytest-timeout packaging ||
  { echo "pip install failed"; exit 1; }
if [ ! -d "$deps/redis-8.1.0/tests" ]; then
  "$deps/py/bin/pip" download -q --no-binary :all: --no-deps -d "$deps/sdist" redis==8.1.0 &&
    tar xzf "$deps/sdist/redis-8.1.0.tar.gz" -C "$deps" || { echo "redis-py sdist download failed"; exit 1; }
fi
if [ ! -d "$deps/node/node_modules/redis" ]; then
  npm install -q --prefix "$deps/node" redis@6 --no-audit --no-fund >/dev/null || { echo "npm install failed"; exit 1; }
fi
tcl_tree=$(bash scripts/tcl-deps.sh "$deps/redis-source") ||
  { echo "fetching Redis's TCL suite (scripts/tcl-deps.sh) failed"; exit 1; }
echo "Redis TCL suite: $tcl_tree"
echo "dependencies ready $(elapsed "$t")"

stage "build (release)"
t=$(date +%s)
release_ok=0
if cargo build --release; then release_ok=1; echo "ok $(elapsed "$t")"; else stage_failures+=("release build"); fi

stage "format (cargo fmt --check)"
if cargo fmt --all -- --check; then echo ok; else stage_failures+=("cargo fmt"); fi

stage "lint (cargo clippy --all-targets -D warnings)"
t=$(date +%s)
if cargo clippy -q --all-targets -- -D warnings; then echo "ok $(elapsed "$t")"; else stage_failures+=("clippy"); fi

stage "cargo test (unit, integration, differential, hostile input, examples)"
t=$(date +%s)
log=$(mktemp)
cargo test --no-fail-fast 2>&1 | tee "$log"
cargo_status=${PIPESTATUS[0]}
read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p+0, f+0 }' "$log")
passed=$((passed + p))
failed=$((failed + f))
rm -f "$log"
if [ "$cargo_status" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
[ "$cargo_status" -eq 0 ] || stage_failures+=("cargo test")
echo "cargo test: $p passed, $f failed $(elapsed "$t")"

stage "redis-py 8.1 test suite: ferrodis vs redis-server"
t=$(date +%s)
"$deps/py/bin/python" scripts/redis-py-suite.py --ferrodis target/release/ferrodis-server \
  --suite "$deps/redis-8.1.0" --python "$deps/py/bin/python"
suite_status=$?
echo "redis-py suite $(elapsed "$t")"
if [ "$suite_status" -eq 0 ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  stage_failures+=("redis-py suite gate")
fi

stage "Redis 7.0.15 TCL suite, external mode: ferrodis vs redis-server, gated by tests/tcl/baseline.txt"
t=$(date +%s)
log=$(mktemp)
if [ "$release_ok" = 1 ]; then
  # The binary the release stage built; tcl-suite.py would otherwise build its own.
  python3 scripts/tcl-suite.py --ferrodis target/release/ferrodis-server "$tcl_tree" | tee "$log"
  tcl_status=${PIPESTATUS[0]}
else
  echo "not run against a stale binary: the release build failed"
  tcl_status=1
fi
read -r p f < <(awk '/^tcl gate:/ { p = $3; f = $5 } END { print p+0, f+0 }' "$log")
rm -f "$log"
# A run that ends without its gate line (a crash, a missing build) is one failure.
if [ "$tcl_status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
passed=$((passed + p))
failed=$((failed + f))
[ "$tcl_status" -eq 0 ] || stage_failures+=("TCL suite gate")
echo "TCL suite: $p files passed the gate, $f failed $(elapsed "$t")"

printf '\n'
for s in "${stage_failures[@]+"${stage_failures[@]}"}"; do echo "FAILED stage: $s"; done
# The redis-py gate counts as one test, each gated TCL file as one; their
# per-test counts are printed above.
echo "tests: $passed passed, $failed failed"
[ ${#stage_failures[@]} -eq 0 ]
