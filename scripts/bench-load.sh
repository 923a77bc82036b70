#!/usr/bin/env bash
# The load benchmark: what the driver and the mocks alone keep up with on
# this machine, then one `crossfire load` of Portkey and of LiteLLM with
# their knees. Figures, not assertions: run it on a quiet machine and read
# the tables. About 4 minutes after the release build.
#
#   bash scripts/bench-load.sh [OUT_FOLDER]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-crossfire-runs/bench-load}"
mkdir -p "$out"
cargo build --release --quiet
xf=./target/release/crossfire

echo "== the driver and the mocks alone"
"$xf" load --ceiling --json "$out/ceiling.json"

echo "== Portkey"
"$xf" load --gateway portkey --config examples/portkey/fallback.json \
    --rates 50,100,200,400,800 --step 10s \
    --out "$out/portkey" --json "$out/portkey.json"

echo "== LiteLLM"
"$xf" load --gateway litellm --config examples/litellm/fallbacks.yaml \
    --rates 25,50,100,200 --step 10s \
    --out "$out/litellm" --json "$out/litellm.json"
