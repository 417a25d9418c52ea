#!/usr/bin/env bash
# `make run`: installs what is missing, builds, starts the whole local Linka in the foreground.
# Ctrl-C stops everything it started.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

export MOTO_PORT="${MOTO_PORT:-4566}" LINKA_PORT="${LINKA_PORT:-8080}"
export LINKA_STATE_DIR="${LINKA_STATE_DIR:-$ROOT/.local}"

"$ROOT/scripts/bootstrap.sh"
log "building the functions and the dev gateway"
cargo build --workspace --bins
if [[ -f web/package.json ]]; then
  log "building the web app"
  (cd web && npm run --silent build)
fi

cleanup() { trap - INT TERM EXIT; "$ROOT/scripts/stack.sh" stop; }
trap cleanup INT TERM EXIT
"$ROOT/scripts/stack.sh" start
"$ROOT/scripts/stack.sh" start-cti

cat <<MSG

  Linka is running (Ctrl-C stops it):
    Web app          http://127.0.0.1:$LINKA_PORT/
    HTTP API         http://127.0.0.1:$LINKA_PORT/api/   (OpenAPI: /api/openapi.json, health: /api/health)
    WebSocket API    ws://127.0.0.1:$LINKA_PORT/ws?token=<access token>
    OpenID issuer    http://127.0.0.1:$LINKA_PORT/auth/.well-known/openid-configuration
    AWS emulator     http://127.0.0.1:$MOTO_PORT/   (what was sent: /moto-api/data.json)
    PBX simulator    CSTA 127.0.0.1:${PBX_SIM_CSTA_PORT:-7001}, control http://127.0.0.1:${PBX_SIM_HTTP_PORT:-7080}/state (demo traffic on)
    CTI relay        http://127.0.0.1:${LINKA_RELAY_HEALTH_PORT:-9480}/health, /metrics

  Demo logins (password = user name):
    admin, supervisor, agent01 … agent10, wallboard
  Machine clients (client credentials, secret = client id + "-secret"): icis, chatbot
  A token for scripts:
    curl -s -d grant_type=password -d username=agent01 -d password=agent01 http://127.0.0.1:$LINKA_PORT/auth/token

MSG
# Follow the gateway's log (it carries every function's output) until Ctrl-C.
tail -n +1 -F "$LINKA_STATE_DIR/gateway.log" &
tail_pid=$!
gateway_pid=$(cat "$LINKA_STATE_DIR/gateway.pid")
while kill -0 "$gateway_pid" 2>/dev/null; do sleep 1; done
kill "$tail_pid" 2>/dev/null || true
log "the dev gateway stopped"
