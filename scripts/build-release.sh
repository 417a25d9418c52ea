#!/usr/bin/env bash
# Builds every function for deployment: arm64 `bootstrap` binaries (provided.al2023) with
# cargo-lambda and zig from PyPI, into target/lambda/<function>/. `sam build` does the same
# through `BuildMethod: rust-cargolambda`; this is the direct way.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/bootstrap.sh"
if ! "$VENV/bin/cargo-lambda" --version >/dev/null 2>&1; then
  log "installing cargo-lambda and zig (PyPI)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "cargo-lambda==1.9.2" ziglang
fi
packages=()
for dir in functions/*/; do packages+=(--package "$(basename "$dir")"); done
# rustup may have to add the aarch64 target; on a machine that cannot, use ARCH=x86-64.
if [[ "${ARCH:-arm64}" == "arm64" ]]; then
  cargo lambda build --release --arm64 "${packages[@]}"
else
  cargo lambda build --release --x86-64 "${packages[@]}"
fi
ls -l target/lambda/*/bootstrap
