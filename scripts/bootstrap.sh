#!/usr/bin/env bash
# Installs what the local stack and the tests need, skipping what is already there.
#   scripts/bootstrap.sh            Python tools (moto, cfn-lint, schemathesis) and the web app's npm packages
#   scripts/bootstrap.sh --browser  also Debian's Chromium for the browser tests
source "$(dirname "$0")/lib.sh"

want_browser=0
[[ "${1:-}" == "--browser" ]] && want_browser=1

command -v cargo >/dev/null || die "cargo is missing: install Rust (rustup) first"
command -v curl >/dev/null || { log "installing curl"; apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

# Python tools, pinned, in the project's own venv.
req="$ROOT/localstack/requirements.txt"
stamp="$VENV/.requirements.sha"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
if [[ ! -f "$stamp" ]] || [[ "$(sha256sum "$req" | cut -d' ' -f1)" != "$(cat "$stamp")" ]]; then
  log "installing Python tools (moto, cfn-lint, schemathesis)"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
  sha256sum "$req" | cut -d' ' -f1 > "$stamp"
fi

# Node.js for the web app.
if ! command -v npm >/dev/null; then
  log "installing Node.js and npm"
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if [[ -f "$ROOT/web/package-lock.json" ]]; then
  lock_stamp="$ROOT/web/node_modules/.lock.sha"
  if [[ ! -f "$lock_stamp" ]] || [[ "$(sha256sum "$ROOT/web/package-lock.json" | cut -d' ' -f1)" != "$(cat "$lock_stamp")" ]]; then
    log "installing the web app's npm packages"
    (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error)
    sha256sum "$ROOT/web/package-lock.json" | cut -d' ' -f1 > "$lock_stamp"
  fi
fi

# Chromium for the browser tests (Debian's build; test tools may not download their own).
if (( want_browser )) && ! command -v chromium >/dev/null; then
  log "installing Debian's Chromium"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

# espeak-ng: text to speech of IVR prompts in the local stack and its tests (Amazon Polly in AWS).
if ! command -v espeak-ng >/dev/null; then
  log "installing espeak-ng"
  apt-get update -qq && apt-get install -y -qq espeak-ng >/dev/null
fi

# cargo-nextest runs the Rust tests when present; plain cargo test is the fallback.
log "bootstrap done"
