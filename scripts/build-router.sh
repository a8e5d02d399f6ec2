#!/usr/bin/env bash
# Builds a cluster's router (edge-router as a Spin / wasi-http component, docs/deploy.md) into
# target/wasm32-wasip2/edge/edge_router.wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build -p edge-router --target wasm32-wasip2 --profile edge --locked
echo "target/wasm32-wasip2/edge/edge_router.wasm: $(wc -c < target/wasm32-wasip2/edge/edge_router.wasm) bytes"
