# Common helpers for the project's scripts. Source it; do not run it.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"

log() { printf '\033[1;34m[linka]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[linka] %s\033[0m\n' "$*" >&2; exit 1; }

# wait_http URL SECONDS [EXPECTED_STATUS]: poll until URL answers (any status, or the expected one).
wait_http() {
  local url="$1" limit="$2" want="${3:-}" start code
  start=$(date +%s)
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    if [[ -n "$want" && "$code" == "$want" ]] || [[ -z "$want" && "$code" != "000" ]]; then
      return 0
    fi
    if (( $(date +%s) - start >= limit )); then
      return 1
    fi
    sleep 0.2
  done
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
