#!/usr/bin/env bash
# Builds the edge's script (edge-router with the room objects) into edge-router/build/ with
# worker-build, using the wasm-bindgen and esbuild installed here rather than downloading them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$root/node_modules/@esbuild/linux-x64/bin/esbuild}"
have=$("$WASM_BINDGEN_BIN" --version 2>/dev/null | awk '{ print $2 }' || true)
if [[ "$have" != "$bindgen_version" ]]; then
    echo "wasm-bindgen $bindgen_version is needed (found: ${have:-none}): cargo install wasm-bindgen-cli --version $bindgen_version" >&2
    exit 1
fi
cd edge-router
worker-build --profile edge
node ../scripts/wasm-names.mjs build/index_bg.wasm
