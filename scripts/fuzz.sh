#!/usr/bin/env bash
# Runs the protocol fuzz target for SECONDS (default 60).
#
#   scripts/fuzz.sh [seconds]
#
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) needs a nightly toolchain;
# cargo-fuzz is installed from crates.io if missing. Without nightly, or if
# cargo-fuzz cannot be installed, the same invariants run on stable Rust as
# the seeded randomized test tests/protocol_fuzz.rs.
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/.."

stable_fallback() {
    echo "fuzz.sh: $1; running the stable randomized test instead" >&2
    exec cargo test --test protocol_fuzz
}

if ! cargo +nightly --version >/dev/null 2>&1; then
    stable_fallback "no nightly toolchain"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz || stable_fallback "cargo-fuzz could not be installed"
fi
mkdir -p fuzz/corpus/protocol
# Seed the corpus with a few well-formed and malformed requests (the first
# byte of each input seeds the split points).
printf '\x07*2\r\n$3\r\nGET\r\n$1\r\nk\r\n' > fuzz/corpus/protocol/seed-get
printf '\x03PING\r\nECHO "a b" '"'"'c'"'"'\r\n' > fuzz/corpus/protocol/seed-inline
printf '\x11*1\r\n$4097\r\n' > fuzz/corpus/protocol/seed-toolong
exec cargo +nightly fuzz run protocol fuzz/corpus/protocol -- \
    -max_total_time="$seconds" -max_len=4096
