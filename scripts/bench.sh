#!/usr/bin/env bash
# `make bench`: release build, local stack on its own ports, then lambda-bench prints the
# figures for docs/benchmarks.md (cold start, warm latency, binary size, peak memory).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

export MOTO_PORT="${BENCH_MOTO_PORT:-4598}" LINKA_PORT="${BENCH_LINKA_PORT:-8098}"
export LINKA_STATE_DIR="$ROOT/.local/bench" LINKA_PROFILE=release
rm -rf "$LINKA_STATE_DIR"
"$ROOT/scripts/bootstrap.sh"
log "release build (size-optimised, LTO: takes a while)"
cargo build --release --workspace --bins
cleanup() { trap - INT TERM EXIT; "$ROOT/scripts/stack.sh" stop || true; }
trap cleanup INT TERM EXIT
"$ROOT/scripts/stack.sh" start
log "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(rustc --version)"
LINKA_BASE_URL="http://127.0.0.1:$LINKA_PORT" AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" \
  "$ROOT/target/release/lambda-bench" --functions-dir target/release "$@"
