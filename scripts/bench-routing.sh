#!/usr/bin/env bash
# `make bench-routing`: RouteRequest → RouteSelect through the local stack (issue 5's goal,
# p99 ≤ 50 ms) with every function built for release, as Lambda runs them: release build,
# the stack with LINKA_PROFILE=release on its own ports, pbx-sim and the relay, then the
# ignored `routing_latency` test prints p50/p95/p99 per kind (docs/benchmarks.md).
#   BENCH_CALLS [100]: measured calls of each kind; BENCH_PAUSE_MS [2000]: pause between calls.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

export MOTO_PORT="${BENCH_MOTO_PORT:-4597}" LINKA_PORT="${BENCH_LINKA_PORT:-8097}"
export PBX_SIM_CSTA_PORT="${BENCH_PBX_SIM_CSTA_PORT:-7291}" PBX_SIM_HTTP_PORT="${BENCH_PBX_SIM_HTTP_PORT:-7292}"
export LINKA_RELAY_HEALTH_PORT="${BENCH_RELAY_HEALTH_PORT:-9691}" LINKA_DEMO_TRAFFIC=0
export LINKA_STATE_DIR="$ROOT/.local/bench-routing" LINKA_PROFILE=release LINKA_SQS_RETRY_DELAY=1
export LINKA_BASE_URL="http://127.0.0.1:$LINKA_PORT" LINKA_AWS_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export LINKA_PBX_SIM_URL="http://127.0.0.1:$PBX_SIM_HTTP_PORT"
export LINKA_RELAY_HEALTH_URL="http://127.0.0.1:$LINKA_RELAY_HEALTH_PORT/health"
export LINKA_DEMO_CLIENTS="${LINKA_DEMO_CLIENTS:-200}"
rm -rf "$LINKA_STATE_DIR"
"$ROOT/scripts/bootstrap.sh"
log "release build (size-optimised, LTO: takes a while)"
cargo build --release --workspace --bins
(cd web && npm run --silent build)
cleanup() { trap - INT TERM EXIT; "$ROOT/scripts/stack.sh" stop || true; }
trap cleanup INT TERM EXIT
"$ROOT/scripts/stack.sh" start
"$ROOT/scripts/stack.sh" start-cti
log "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(rustc --version)"
LINKA_BENCH_CALLS="${BENCH_CALLS:-100}" LINKA_BENCH_PAUSE_MS="${BENCH_PAUSE_MS:-2000}" \
  cargo test -p system-tests --features stack --test routing -- --ignored --nocapture routing_latency
