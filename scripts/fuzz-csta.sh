#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer via cargo fuzz) of the CSTA frame + message decoder
# (cti/csta/fuzz, target `decode`) for a bounded time: FUZZ_SECONDS (default 60).
# Seeds: the capture-shaped fixtures of cti/csta/tests/fixtures. Fails on any crash/panic.
# cargo fuzz needs nightly features: the nightly toolchain is used when rustup has one,
# otherwise (or with FUZZ_TOOLCHAIN=stable) stable with RUSTC_BOOTSTRAP=1.
source "$(dirname "$0")/lib.sh"
cd "$ROOT/cti/csta"

SECONDS_BUDGET="${FUZZ_SECONDS:-60}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

TOOLCHAIN=()
if [[ "${FUZZ_TOOLCHAIN:-}" != stable ]] && rustup run nightly rustc --version >/dev/null 2>&1; then
  TOOLCHAIN=(+nightly)
else
  log "using stable with RUSTC_BOOTSTRAP=1 (no nightly toolchain, or FUZZ_TOOLCHAIN=stable)"
  export RUSTC_BOOTSTRAP=1
fi

# Builds go to the shared target dir (under the target triple, apart from host builds).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

CORPUS="$ROOT/target/fuzz-corpus/csta-decode"
mkdir -p "$CORPUS"
cp tests/fixtures/*.xml tests/fixtures/osv-stream.bin "$CORPUS/"

log "fuzzing csta decode for ${SECONDS_BUDGET}s (${TOOLCHAIN[*]:-stable+RUSTC_BOOTSTRAP})"
cargo "${TOOLCHAIN[@]}" fuzz run decode "$CORPUS" -- \
  -max_total_time="$SECONDS_BUDGET" -max_len=65535 -print_final_stats=1
