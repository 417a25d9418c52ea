#!/usr/bin/env bash
# `make relay`: the on-prem CTI relay as one static binary (static-pie, glibc linked in), for
# copying to the PBX-side server with cti/relay/dist/ (systemd unit, relay.toml).
#
# glibc's resolver (getaddrinfo) still loads the host's NSS modules at run time to resolve the
# AWS endpoint names, so run it on a glibc Linux (Debian, RHEL…); with the musl target
# installed (`rustup target add x86_64-unknown-linux-musl`) build that instead for a binary
# with no such dependency: LINKA_RELAY_TARGET=x86_64-unknown-linux-musl make relay.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

TARGET="${LINKA_RELAY_TARGET:-x86_64-unknown-linux-gnu}"
log "building linka-relay for $TARGET (static)"
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release -p linka-relay --bin linka-relay --target "$TARGET"
BIN="target/$TARGET/release/linka-relay"
file "$BIN" | grep -q "static" || die "$BIN is not statically linked"
log "done: $BIN ($(du -h "$BIN" | cut -f1)); install with cti/relay/dist/README.cs.md"
