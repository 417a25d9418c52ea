#!/usr/bin/env bash
# Starts and stops the local Linka stack in the background (used by the tests).
#   scripts/stack.sh start   AWS emulator (moto) + dev gateway (API Gateway, Lambda, SQS, schedules, issuer)
#   scripts/stack.sh stop    stops what `start` started
# Ports and state come from the environment (defaults in brackets):
#   MOTO_PORT [4566]  LINKA_PORT [8080]  LINKA_STATE_DIR [.local]  LINKA_SQS_RETRY_DELAY [queue's own]
#   LINKA_PROFILE [debug]: which build of the gateway and the functions to run (debug or release)
# The binaries must be built first (cargo build --workspace --bins).
source "$(dirname "$0")/lib.sh"

MOTO_PORT="${MOTO_PORT:-4566}"
PROFILE="${LINKA_PROFILE:-debug}"
LINKA_PORT="${LINKA_PORT:-8080}"
STATE="${LINKA_STATE_DIR:-$ROOT/.local}"
mkdir -p "$STATE"

start_moto() {
  if ! port_free "$MOTO_PORT"; then
    die "port $MOTO_PORT is taken (another emulator?); set MOTO_PORT"
  fi
  log "starting the AWS emulator (moto) on 127.0.0.1:$MOTO_PORT"
  # setsid: its own process group, so stop can end it and everything it forked.
  setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE/moto.log" 2>&1 &
  echo $! >"$STATE/moto.pid"
  wait_http "http://127.0.0.1:$MOTO_PORT/moto-api/" 60 200 || die "moto did not answer within 60 s (see $STATE/moto.log)"
}

start_gateway() {
  if ! port_free "$LINKA_PORT"; then
    die "port $LINKA_PORT is taken; set LINKA_PORT"
  fi
  local bin="$ROOT/target/$PROFILE/dev-gateway"
  [[ -x "$bin" ]] || die "$bin is missing: run cargo build --workspace --bins"
  log "starting the dev gateway on 127.0.0.1:$LINKA_PORT"
  (
    cd "$ROOT"
    AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" LINKA_PORT="$LINKA_PORT" LINKA_STATE_DIR="$STATE" \
      setsid "$bin" --template infra/template.yaml --functions-dir "target/$PROFILE" --web-dir web/dist \
      --state-dir "$STATE" --identities localstack/identities.json >"$STATE/gateway.log" 2>&1 &
    echo $! >"$STATE/gateway.pid"
  )
  if ! wait_http "http://127.0.0.1:$LINKA_PORT/api/health" 180 200; then
    tail -n 40 "$STATE/gateway.log" >&2 || true
    die "the dev gateway was not healthy within 180 s (see $STATE/gateway.log)"
  fi
  log "stack ready: http://127.0.0.1:$LINKA_PORT/"
}

stop_pidfile() {
  local f="$1" pid
  [[ -f "$f" ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

case "${1:-}" in
  start) start_moto; start_gateway ;;
  start-moto) start_moto ;;
  start-gateway) start_gateway ;;
  stop) stop_pidfile "$STATE/gateway.pid"; stop_pidfile "$STATE/moto.pid"; log "stack stopped" ;;
  *) die "usage: $0 start|stop" ;;
esac
