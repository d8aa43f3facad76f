#!/usr/bin/env bash
# Runs Redis's own TCL test files in external mode against ferrodis and
# against redis-server, side by side, and prints pass/fail counts per file.
#
# Usage: scripts/tcl-suite.sh REDIS_SOURCE_DIR [test-file ...]
#   REDIS_SOURCE_DIR is a checkout of redis/redis at tag 7.0.15 (its tests/
#   directory and runtest script are used as they are; nothing is copied into
#   this project). Needs tclsh and redis-server.
# Default files: unit/type/hash unit/type/incr unit/type/string unit/expire
#                unit/keyspace unit/type/list
set -euo pipefail

src=${1:?usage: scripts/tcl-suite.sh REDIS_SOURCE_DIR [test-file ...]}
shift
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(unit/type/hash unit/type/incr unit/type/string unit/expire unit/keyspace unit/type/list)
fi
root=$(cd "$(dirname "$0")/.." && pwd)
command -v tclsh >/dev/null || { echo "tclsh is required (apt-get install tcl)"; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is required (apt-get install redis-server)"; exit 1; }
(cd "$root" && cargo build --release -q)

# The runner writes into its tree; work on a scratch copy.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/redis"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_one() { # server-kind file
  local kind=$1 file=$2 port pid log
  port=$(free_port)
  log="$work/$kind-$(echo "$file" | tr / _).log"
  if [ "$kind" = ferrodis ]; then
    "$root/target/release/ferrodis-server" --port "$port" --bind 127.0.0.1 --save "" >/dev/null 2>&1 &
  else
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
  fi
  pid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  (cd "$work/redis" && timeout 900 ./runtest --host 127.0.0.1 --port "$port" --single "$file" \
      --ignore-encoding --ignore-digest --tags -needs:repl --tags -needs:debug --clients 1) >"$log" 2>&1 || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local ok err
  ok=$(grep -c '^\[ok\]' "$log" || true)
  err=$(grep -cE '^\[(err|exception)\]' "$log" || true)
  echo "$ok $err $log"
}

printf '%-18s %16s %16s\n' file "redis ok/err" "ferrodis ok/err"
for f in "${files[@]}"; do
  read -r rok rerr _ < <(run_one redis "$f")
  read -r fok ferr flog < <(run_one ferrodis "$f")
  printf '%-18s %16s %16s\n' "$f" "$rok/$rerr" "$fok/$ferr"
  grep -E '^\[(err|exception)\]' "$flog" | sed 's/^/    /' | head -40 || true
done
