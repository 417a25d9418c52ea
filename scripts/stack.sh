#!/usr/bin/env bash
# Starts and stops the local Linka stack in the background (used by the tests).
#   scripts/stack.sh start   AWS emulator (moto) + dev gateway (API Gateway, Lambda, SQS, schedules, issuer)
#   scripts/stack.sh start-cti  PBX simulator with demo traffic + CTI relay (needs the stack)
#   scripts/stack.sh stop    stops what `start` and `start-cti` started
# Ports and state come from the environment (defaults in brackets):
#   MOTO_PORT [4566]  LINKA_PORT [8080]  LINKA_STATE_DIR [.local]  LINKA_SQS_RETRY_DELAY [queue's own]
#   LINKA_PROFILE [debug]: which build of the gateway and the functions to run (debug or release)
#   PBX_SIM_CSTA_PORT [7001]  PBX_SIM_HTTP_PORT [7080]  LINKA_RELAY_HEALTH_PORT [9480]
#   LINKA_DEMO_TRAFFIC [1]: 0 starts the simulator without its Poisson demo traffic
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
  # localstack/moto_server.py: moto's server with cheaper transaction backups (see the file).
  setsid "$VENV/bin/python" "$ROOT/localstack/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE/moto.log" 2>&1 &
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
  seed_prompts
  seed_clients
  log "stack ready: http://127.0.0.1:$LINKA_PORT/"
}

# The demo IVR's recorded prompts (localstack/demo-config.json names prompts/ton.wav, the beep
# before a voicemail): uploaded through the admin API like an administrator would.
seed_prompts() {
  local base="http://127.0.0.1:$LINKA_PORT" token
  token=$(curl -sf -d grant_type=password -d username=admin -d password=admin "$base/auth/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') \
    || { log "warning: no admin token; demo prompts not uploaded"; return 0; }
  python3 - "$STATE/ton.wav" <<'PY'
import math, struct, sys, wave
rate = 8000
with wave.open(sys.argv[1], "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(rate)
    out.writeframes(b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 1000 * n / rate))) for n in range(rate // 2)))
PY
  curl -sf -X PUT -H "Authorization: Bearer $token" -H "content-type: audio/wav" \
    --data-binary @"$STATE/ton.wav" "$base/api/admin/prompts/ton" >/dev/null \
    || log "warning: the demo prompt prompts/ton.wav was not uploaded"
}

# Demo client records (synthetic, scripts/gen_clients.py): 2000 clients plus the fixed demo
# ones (two sharing +420777000111, a VIP on +420777000222) that tests and the demo call from.
seed_clients() {
  "$VENV/bin/python" "$ROOT/scripts/seed-clients.py" -n "${LINKA_DEMO_CLIENTS:-2000}" \
    --endpoint "http://127.0.0.1:$MOTO_PORT" >"$STATE/seed-clients.log" 2>&1 \
    || log "warning: demo clients not loaded (see $STATE/seed-clients.log)"
}

start_cti() {
  local csta="${PBX_SIM_CSTA_PORT:-7001}" http="${PBX_SIM_HTTP_PORT:-7080}" health="${LINKA_RELAY_HEALTH_PORT:-9480}"
  for port in "$csta" "$http" "$health"; do
    port_free "$port" || die "port $port is taken; set PBX_SIM_CSTA_PORT / PBX_SIM_HTTP_PORT / LINKA_RELAY_HEALTH_PORT"
  done
  local sim="$ROOT/target/$PROFILE/pbx-sim" relay="$ROOT/target/$PROFILE/linka-relay"
  [[ -x "$sim" && -x "$relay" ]] || die "pbx-sim or linka-relay is missing: run cargo build --workspace --bins"
  local traffic=(--traffic)
  [[ "${LINKA_DEMO_TRAFFIC:-1}" == 0 ]] && traffic=()
  log "starting the PBX simulator (CSTA :$csta, control http://127.0.0.1:$http/)${traffic:+ with demo traffic}"
  setsid "$sim" --host 127.0.0.1 --csta-port "$csta" --http-port "$http" --config "$ROOT/localstack/pbx-sim.yaml" "${traffic[@]}" --seed 42 \
    >"$STATE/pbx-sim.log" 2>&1 &
  echo $! >"$STATE/pbx-sim.pid"
  wait_http "http://127.0.0.1:$http/health" 30 200 || die "pbx-sim did not answer within 30 s (see $STATE/pbx-sim.log)"
  log "starting the CTI relay (health http://127.0.0.1:$health/health)"
  local queues="http://127.0.0.1:$MOTO_PORT/123456789012"
  (
    cd "$ROOT"
    AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=eu-central-1 \
      AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \
      LINKA_RELAY_PBX_PORT="$csta" LINKA_RELAY_SPOOL_PATH="$STATE/relay-spool.redb" \
      LINKA_RELAY_EVENT_QUEUE_URL="$queues/linka-CtiEventQueue.fifo" \
      LINKA_RELAY_COMMAND_QUEUE_URL="$queues/linka-CtiCommandQueue.fifo" \
      LINKA_RELAY_HEALTH_LISTEN="127.0.0.1:$health" \
      LINKA_RELAY_IVR_RECORDINGS_URL="http://127.0.0.1:$http/recordings/{id}" \
      LINKA_RELAY_ROUTING_URL="http://127.0.0.1:$LINKA_PORT/api/cti/route" \
      setsid "$relay" --config localstack/relay.toml --log-format json >"$STATE/relay.log" 2>&1 &
    echo $! >"$STATE/relay.pid"
  )
  wait_http "http://127.0.0.1:$health/health" 60 200 || {
    tail -n 20 "$STATE/relay.log" >&2 || true
    die "the relay did not report a healthy PBX link within 60 s (see $STATE/relay.log)"
  }
  log "CTI relay linked to the PBX simulator; events flow to the CtiEventQueue"
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
  start-cti) start_cti ;;
  stop)
    stop_pidfile "$STATE/relay.pid"; stop_pidfile "$STATE/pbx-sim.pid"
    stop_pidfile "$STATE/gateway.pid"; stop_pidfile "$STATE/moto.pid"; log "stack stopped" ;;
  *) die "usage: $0 start|start-cti|stop" ;;
esac
